package anonymise

import (
	"math"
	"strconv"
	"strings"
)

// generalise coarsens t according to f; ok is false when t cannot be read.
func generalise(f Field, t string, centroid func(lon, lat float64) (float64, float64, bool)) (string, bool) {
	switch f.As {
	case AsDate, AsDatetime:
		y, m, d, ok := readDate(t)
		if !ok {
			return "", false
		}
		switch f.To {
		case "year":
			return y, true
		case "month":
			return y + "-" + m, true
		default: // "date"
			return y + "-" + m + "-" + d, true
		}
	case AsCoordinate:
		v, err := strconv.ParseFloat(strings.Replace(t, ",", ".", 1), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return "", false
		}
		return round(v, *f.Decimals), true
	case AsGeopoint:
		lon, lat, ok := readPoint(t)
		if !ok {
			return "", false
		}
		if centroid != nil {
			if clon, clat, ok := centroid(lon, lat); ok {
				return strconv.FormatFloat(clon, 'f', -1, 64) + ", " + strconv.FormatFloat(clat, 'f', -1, 64), true
			}
		}
		return round(lon, *f.Decimals) + ", " + round(lat, *f.Decimals), true
	case AsAge:
		age, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(t, " ans"), ".0"))
		if err != nil || age < 0 || age > 150 {
			return "", false
		}
		return bracket(age, f.Brackets), true
	case AsPostcode:
		return department(t)
	}
	return "", false
}

func round(v float64, decimals int) string {
	p := math.Pow(10, float64(decimals))
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', decimals, 64)
}

// readDate reads YYYY-MM-DD[…] or dd/mm/yyyy[…] (also with '-' or '.').
func readDate(t string) (y, m, d string, ok bool) {
	if i := strings.IndexAny(t, "T "); i > 0 {
		t = t[:i]
	}
	parts := strings.FieldsFunc(t, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
	if len(parts) != 3 {
		return "", "", "", false
	}
	if len(parts[0]) != 4 {
		parts[0], parts[2] = parts[2], parts[0]
	}
	if len(parts[0]) != 4 || !digits(parts[0]) || !digits(parts[1]) || !digits(parts[2]) || len(parts[1]) > 2 || len(parts[2]) > 2 {
		return "", "", "", false
	}
	mi, _ := strconv.Atoi(parts[1])
	di, _ := strconv.Atoi(parts[2])
	if mi < 1 || mi > 12 || di < 1 || di > 31 {
		return "", "", "", false
	}
	return parts[0], pad2(mi), pad2(di), true
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// readPoint reads a Table Schema geopoint "lon, lat" (also "[lon, lat]").
func readPoint(t string) (float64, float64, bool) {
	t = strings.TrimSuffix(strings.TrimPrefix(t, "["), "]")
	a, b, found := strings.Cut(t, ",")
	if !found {
		return 0, 0, false
	}
	lon, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lat, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if err1 != nil || err2 != nil || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
		return 0, 0, false
	}
	return lon, lat, true
}

// bracket labels an age: "<18", "18-24", …, "75+".
func bracket(age int, bounds []int) string {
	if age < bounds[0] {
		return "<" + strconv.Itoa(bounds[0])
	}
	for i := 1; i < len(bounds); i++ {
		if age < bounds[i] {
			return strconv.Itoa(bounds[i-1]) + "-" + strconv.Itoa(bounds[i]-1)
		}
	}
	return strconv.Itoa(bounds[len(bounds)-1]) + "+"
}

// department maps a postcode (5 digits) or INSEE commune code to its
// département: overseas 97x/98x keep 3 digits, Corsica postcodes 200xx–201xx
// are 2A and 202xx–206xx 2B, INSEE 2A/2B codes keep their letter.
func department(t string) (string, bool) {
	t = strings.ToUpper(strings.ReplaceAll(t, " ", ""))
	if len(t) != 5 {
		return "", false
	}
	if t[0] == '2' && (t[1] == 'A' || t[1] == 'B') && digits(t[2:]) {
		return t[:2], true
	}
	if !digits(t) {
		return "", false
	}
	switch {
	case t[:2] == "97" || t[:2] == "98":
		return t[:3], true
	case t[:2] == "20":
		if t[2] <= '1' {
			return "2A", true
		}
		return "2B", true
	}
	return t[:2], true
}
