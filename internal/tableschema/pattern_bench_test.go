package tableschema

import "testing"

// BenchmarkShippedPatterns matches the examples of every pattern of the
// shipped schemas (the common case of the validator's hot path).
//
//	go test -run XXX -bench ShippedPatterns ./internal/tableschema
func BenchmarkShippedPatterns(b *testing.B) {
	type pc struct {
		f    *baseField
		cell string
	}
	var cases []pc
	for _, s := range Shipped() {
		sc, err := LoadShipped(s.Name)
		if err != nil {
			b.Fatal(err)
		}
		for _, fd := range sc.Fields {
			d := fd.Descriptor()
			ex, _ := d.Example.(string)
			if d.Constraints.Pattern == "" || ex == "" {
				continue
			}
			var f baseField
			dd := &FieldDescriptor{Name: d.Name, Type: "string"}
			dd.Constraints.Pattern = d.Constraints.Pattern
			if err := f.setup(dd, &StringField{}); err != nil {
				b.Fatal(err)
			}
			cases = append(cases, pc{&f, ex}, pc{&f, ex + "!"})
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, c := range cases {
			c.f.matchPattern(c.cell)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cases)), "ns/cell")
}

// BenchmarkSubventionsPatterns matches the three patterns of
// scdl-subventions (BenchmarkValidate's schema) on valid cells.
func BenchmarkSubventionsPatterns(b *testing.B) {
	cases := []struct{ pattern, cell string }{
		{`^\d{14}$`, "23350001600040"},
		{`^W\d{9}$`, "W380475558"},
		{`^[0-9]{4}\-[0-9]{2}\-[0-9]{2}(\/[0-9]{4}\-[0-9]{2}\-[0-9]{2})?$`, "2017-03-14/2018-03-14"},
		{`^[0-9]{4}\-[0-9]{2}\-[0-9]{2}(\/[0-9]{4}\-[0-9]{2}\-[0-9]{2})?$`, "2017-03-14"},
	}
	fields := make([]*baseField, len(cases))
	for i, c := range cases {
		var f baseField
		d := &FieldDescriptor{Name: "c", Type: "string"}
		d.Constraints.Pattern = c.pattern
		if err := f.setup(d, &StringField{}); err != nil {
			b.Fatal(err)
		}
		fields[i] = &f
	}
	b.ResetTimer()
	for b.Loop() {
		for i, c := range cases {
			if !fields[i].matchPattern(c.cell) {
				b.Fatal(c)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cases)), "ns/cell")
}
