// Package tableschema implements Frictionless Table Schema v1 (plus the
// schema.data.gouv.fr extensions used by the SCDL schemas) and a streaming,
// Validata-compatible validator for tabular files.
//
// A descriptor is parsed into a [Schema] whose fields are one Go type per
// field kind ([StringField], [NumberField], [DateField]…), each implementing
// [Field] and registered by type name in [Fields]. The national schemas of
// schema.data.gouv.fr ship embedded ([Shipped], [LoadShipped]).
//
// Input comes as [Rows]: [NewCSVReader] sniffs the encoding (UTF-8, BOM,
// Windows-1252, ISO-8859-1/15) and the delimiter and streams records with
// bounded memory; other packages provide Rows for XLSX or JSON. [Validate]
// checks the rows against a schema and returns a [Report] whose error codes
// are those of frictionless and Validata (type-error, constraint-error,
// missing-required-header, french-siret-value…) with French messages.
package tableschema
