// Package apidoc writes the OpenAPI 3.1 documents of the public records API
// (/api/explore/v2.1, Opendatasoft Explore v2.1-compatible): one per public
// dataset, its records typed from the dataset's Table Schema, and one for
// the whole catalogue. It only describes: the caller gives the datasets
// and says which operations the server serves (Options.Served), so that a
// document never promises an export or a route the server does not have.
package apidoc

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Version is the OpenAPI version of the documents.
const Version = "3.1.0"

// Prefix is the public records API's path prefix.
const Prefix = "/api/explore/v2.1"

// Options say who publishes and what the server serves.
type Options struct {
	// Org is the collectivité's name.
	Org string
	// ServerURL is the API's base URL ("https://data.example.fr/api/explore/v2.1");
	// empty: Prefix, relative to the document's host.
	ServerURL string
	// Served reports whether the server answers GET path (a template
	// under Prefix with {dataset_id}, {record_id}…); nil: every operation.
	Served func(path string) bool
}

func (o Options) served(path string) bool { return o.Served == nil || o.Served(path) }

// Field is a column of a dataset's records.
type Field struct {
	Name        string
	Title       string
	Description string
	// Type and Format are the Table Schema's ("integer", "date"…); empty
	// when the dataset has no schema (Kind then decides).
	Type, Format string
	// Kind is the release column kind (text, numeric, integer, boolean,
	// date, timestamp): what the API answers.
	Kind     string
	Required bool
	Enum     []any
	Pattern  string
	Minimum  any
	Maximum  any
	MinLen   *int
	MaxLen   *int
	Example  any
}

// Dataset is a public dataset with an exposed release.
type Dataset struct {
	ID, Title, Description string
	Licence                string
	Publisher              string
	Keywords               []string
	Records                int64
	Modified               time.Time
	Schema, SchemaVersion  string // its Table Schema, if any
	Fields                 []Field
}

// Export formats: content type and description, in the order listed.
var exportFormats = []struct{ Ext, Type, Fr string }{
	{"csv", "text/csv", "CSV (séparateur « ; » par défaut, BOM UTF-8)"},
	{"json", "application/json", "tableau JSON des enregistrements"},
	{"jsonl", "application/jsonl", "un enregistrement JSON par ligne (JSON Lines)"},
	{"geojson", "application/geo+json", "collection d'entités GeoJSON"},
	{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "classeur Excel"},
	{"parquet", "application/vnd.apache.parquet", "fichier Apache Parquet"},
}

// Licences known by their identifier: their name and where to read them.
var licences = map[string]struct{ Name, URL, SPDX string }{
	"etalab-2.0":   {"Licence Ouverte / Open Licence 2.0 (Etalab)", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/", "etalab-2.0"},
	"lo-2.0":       {"Licence Ouverte / Open Licence 2.0 (Etalab)", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/", "etalab-2.0"},
	"odbl":         {"Open Database License (ODbL) 1.0", "", "ODbL-1.0"},
	"odbl-1.0":     {"Open Database License (ODbL) 1.0", "", "ODbL-1.0"},
	"cc-by-4.0":    {"Creative Commons Attribution 4.0", "", "CC-BY-4.0"},
	"cc-by-sa-4.0": {"Creative Commons Attribution - Partage dans les mêmes conditions 4.0", "", "CC-BY-SA-4.0"},
	"cc0-1.0":      {"Creative Commons Zero 1.0", "", "CC0-1.0"},
}

// LicenceName is the readable name of a licence identifier.
func LicenceName(id string) string {
	if l, ok := licences[strings.ToLower(strings.TrimSpace(id))]; ok {
		return l.Name
	}
	if id == "" {
		return "non précisée"
	}
	return id
}

// LicenceURL is where a licence is read, if known.
func LicenceURL(id string) string {
	l := licences[strings.ToLower(strings.TrimSpace(id))]
	if l.URL == "" && l.SPDX != "" {
		return "https://spdx.org/licenses/" + l.SPDX + ".html"
	}
	return l.URL
}

func licence(id string) map[string]any {
	l, ok := licences[strings.ToLower(strings.TrimSpace(id))]
	if !ok {
		if id == "" {
			id = "non précisée"
		}
		return map[string]any{"name": id}
	}
	out := map[string]any{"name": l.Name}
	if l.URL != "" {
		out["url"] = l.URL
	} else {
		out["identifier"] = l.SPDX
	}
	return out
}

// doc is an OpenAPI document being written.
type doc struct {
	o          Options
	paths      map[string]any
	schemas    map[string]any
	tags       []any
	operations map[string]bool
}

func newDoc(o Options) *doc {
	return &doc{o: o, paths: map[string]any{}, schemas: map[string]any{}, operations: map[string]bool{}}
}

// ForDataset is the document of one dataset's API.
func ForDataset(o Options, d Dataset) map[string]any {
	w := newDoc(o)
	w.dataset(d)
	desc := fmt.Sprintf("API publique du jeu de données « %s » publié par %s, compatible avec l'API Explore v2.1 d'Opendatasoft. "+
		"Lecture seule, sans inscription ; une clé d'API, facultative, se passe dans l'en-tête `Authorization: Apikey VOTRE_CLE` "+
		"ou le paramètre `apikey`. Au-delà des limites, la réponse est 429 avec les en-têtes `Retry-After` et `RateLimit-*`.", d.Title, orDefault(o.Org, "la collectivité"))
	if d.Description != "" {
		desc += "\n\n" + d.Description
	}
	if d.Schema != "" {
		desc += fmt.Sprintf("\n\nLes champs suivent le schéma de données `%s`%s.", d.Schema, map[bool]string{true: " (version " + d.SchemaVersion + ")", false: ""}[d.SchemaVersion != ""])
	}
	return w.document("API du jeu de données « "+d.Title+" »", desc, licence(d.Licence))
}

// ForCatalog is the document of the whole catalogue: the listing, and the
// operations of each dataset with its own record type.
func ForCatalog(o Options, ds []Dataset) map[string]any {
	w := newDoc(o)
	if w.o.served("/catalog/datasets") {
		w.paths["/catalog/datasets"] = map[string]any{"get": w.op("Catalogue", "listDatasets", "Liste des jeux de données publics",
			"Les jeux de données publics exposés, avec leurs métadonnées et leurs champs.",
			[]any{param("limit"), param("offset")},
			ok("La page demandée du catalogue.", map[string]any{"$ref": "#/components/schemas/Catalog"}, "application/json"))}
		w.tags = append(w.tags, map[string]any{"name": "Catalogue", "description": "Le catalogue des jeux de données publics."})
	}
	sorted := append([]Dataset(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	for _, d := range sorted {
		w.dataset(d)
	}
	desc := fmt.Sprintf("API publique des données ouvertes de %s, compatible avec l'API Explore v2.1 d'Opendatasoft : le catalogue et, "+
		"pour chaque jeu de données public, ses enregistrements typés selon son schéma. Lecture seule ; une clé d'API, facultative, "+
		"se passe dans l'en-tête `Authorization: Apikey VOTRE_CLE` ou le paramètre `apikey`. Au-delà des limites, la réponse est 429 "+
		"avec les en-têtes `Retry-After` et `RateLimit-*`. Chaque jeu de données est publié sous sa licence (voir sa description).",
		orDefault(o.Org, "la collectivité"))
	return w.document("API des données ouvertes de "+orDefault(o.Org, "la collectivité"), desc, licence("etalab-2.0"))
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func (w *doc) document(title, desc string, lic map[string]any) map[string]any {
	server := w.o.ServerURL
	if server == "" {
		server = Prefix
	}
	w.schemas["Error"] = map[string]any{
		"type": "object", "required": []any{"error_code", "message"},
		"description": "Erreur, dans la forme d'Opendatasoft.",
		"properties": map[string]any{
			"error_code": map[string]any{"type": "string", "examples": []any{"ODSQLError", "InvalidRESTParameterError", "NoSuchDataset"}},
			"message":    map[string]any{"type": "string"},
		},
	}
	w.schemas["Field"] = map[string]any{"type": "object", "required": []any{"name", "type"}, "properties": map[string]any{
		"name":  map[string]any{"type": "string"},
		"label": map[string]any{"type": "string"},
		"type":  map[string]any{"type": "string", "enum": []any{"text", "int", "double", "boolean", "date", "datetime"}},
	}}
	w.schemas["Dataset"] = map[string]any{"type": "object", "required": []any{"dataset_id", "fields"}, "properties": map[string]any{
		"dataset_id":  map[string]any{"type": "string"},
		"has_records": map[string]any{"type": "boolean"},
		"metas": map[string]any{"type": "object", "properties": map[string]any{"default": map[string]any{"type": "object", "properties": map[string]any{
			"title":            map[string]any{"type": "string"},
			"description":      map[string]any{"type": "string"},
			"keyword":          map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			"license":          map[string]any{"type": "string"},
			"modified":         map[string]any{"type": "string", "format": "date-time"},
			"records_count":    map[string]any{"type": "integer"},
			"publisher":        map[string]any{"type": "string"},
			"language":         map[string]any{"type": "string"},
			"update_frequency": map[string]any{"type": "string"},
		}}}},
		"fields": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/Field"}},
	}}
	w.schemas["Catalog"] = map[string]any{"type": "object", "required": []any{"total_count", "results"}, "properties": map[string]any{
		"total_count": map[string]any{"type": "integer", "minimum": 0},
		"results":     map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/Dataset"}},
	}}
	w.schemas["Facets"] = map[string]any{"type": "object", "required": []any{"facets"}, "properties": map[string]any{
		"links": map[string]any{"type": "array"},
		"facets": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
			"name": map[string]any{"type": "string"},
			"facets": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
				"name": map[string]any{"type": "string"}, "value": map[string]any{"type": "string"},
				"count": map[string]any{"type": "integer"}, "state": map[string]any{"type": "string"},
			}}},
		}}},
	}}
	rateHeaders := map[string]any{
		"Retry-After":      map[string]any{"description": "Secondes à attendre avant de réessayer.", "schema": map[string]any{"type": "integer"}},
		"RateLimit-Policy": map[string]any{"description": "Les limites de la formule (champs structurés du brouillon IETF RateLimit) : débit en rafale, quota par jour et par mois, p. ex. `\"burst\";q=1000;w=50, \"day\";q=50000;w=86400`.", "schema": map[string]any{"type": "string"}},
		"RateLimit":        map[string]any{"description": "Ce qui reste de chaque limite et les secondes avant sa remise à zéro, p. ex. `\"day\";r=0;t=3600`.", "schema": map[string]any{"type": "string"}},
	}
	errBody := map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}
	return map[string]any{
		"openapi": Version,
		"info": map[string]any{
			"title": title, "version": "2.1", "description": desc, "license": lic,
		},
		"servers":  []any{map[string]any{"url": server, "description": "API Explore v2.1"}},
		"security": []any{map[string]any{}, map[string]any{"apikeyHeader": []any{}}, map[string]any{"apikeyQuery": []any{}}},
		"tags":     w.tags,
		"paths":    w.paths,
		"components": map[string]any{
			"schemas":    w.schemas,
			"parameters": parameters(),
			"securitySchemes": map[string]any{
				"apikeyHeader": map[string]any{"type": "apiKey", "in": "header", "name": "Authorization",
					"description": "Clé d'API dans l'en-tête : `Authorization: Apikey VOTRE_CLE` (facultative, sauf selon votre formule)."},
				"apikeyQuery": map[string]any{"type": "apiKey", "in": "query", "name": "apikey",
					"description": "Clé d'API dans l'adresse : `?apikey=VOTRE_CLE`."},
			},
			"responses": map[string]any{
				"BadRequest":      map[string]any{"description": "Requête invalide : paramètre ou expression ODSQL incorrects.", "content": errBody},
				"NotFound":        map[string]any{"description": "Jeu de données inconnu (ou non public).", "content": errBody},
				"NotModified":     map[string]any{"description": "La réponse n'a pas changé depuis l'ETag envoyé (If-None-Match)."},
				"TooManyRequests": map[string]any{"description": "Trop de requêtes : attendez `Retry-After` secondes.", "headers": rateHeaders, "content": errBody},
			},
		},
	}
}

// parameters are the shared query parameters (components.parameters).
func parameters() map[string]any {
	str := func(name, desc string, example string) map[string]any {
		p := map[string]any{"name": name, "in": "query", "required": false, "description": desc, "schema": map[string]any{"type": "string"}}
		if example != "" {
			p["example"] = example
		}
		return p
	}
	arr := func(name, desc string) map[string]any {
		return map[string]any{"name": name, "in": "query", "required": false, "description": desc, "explode": true, "style": "form",
			"schema": map[string]any{"type": "array", "items": map[string]any{"type": "string", "pattern": "^[^:]+:.*$"}}}
	}
	return map[string]any{
		"select":   str("select", "Champs ou expressions à renvoyer, séparés par des virgules (ODSQL), avec alias `AS` et agrégats (`count(*)`, `sum(champ)`…).", ""),
		"where":    str("where", "Filtre ODSQL : comparaisons, `and`/`or`/`not`, `in`, `like`, recherche plein texte entre guillemets…", ""),
		"group_by": str("group_by", "Regroupement ODSQL : champs ou expressions séparés par des virgules.", ""),
		"order_by": str("order_by", "Tri ODSQL : champs ou expressions suivis de `asc` ou `desc`.", ""),
		"limit": map[string]any{"name": "limit", "in": "query", "required": false, "description": "Nombre d'enregistrements (10 par défaut, 100 au plus ; avec `group_by`, 20 000 au plus).",
			"schema": map[string]any{"type": "integer", "minimum": 0, "maximum": 20000, "default": 10}},
		"offset": map[string]any{"name": "offset", "in": "query", "required": false, "description": "Décalage du premier enregistrement ; `offset + limit` ne dépasse pas 10 000 (utilisez les exports au-delà).",
			"schema": map[string]any{"type": "integer", "minimum": 0, "default": 0}},
		"refine":   arr("refine", "Ne garde que les enregistrements dont le champ a la valeur : `champ:valeur` (répétable)."),
		"exclude":  arr("exclude", "Écarte les enregistrements dont le champ a la valeur : `champ:valeur` (répétable)."),
		"lang":     str("lang", "Langue des libellés (`fr` par défaut).", ""),
		"timezone": str("timezone", "Fuseau horaire IANA des dates (UTC par défaut), par exemple `Europe/Paris`.", ""),
		"facet":    map[string]any{"name": "facet", "in": "query", "required": false, "description": "Champ dont compter les valeurs (répétable ; par défaut les champs texte et booléens).", "explode": true, "style": "form", "schema": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}},
		"delimiter": map[string]any{"name": "delimiter", "in": "query", "required": false, "description": "Séparateur CSV.",
			"schema": map[string]any{"type": "string", "enum": []any{";", ",", "|", "\t"}, "default": ";"}},
		"with_bom": map[string]any{"name": "with_bom", "in": "query", "required": false, "description": "BOM UTF-8 en tête du CSV.",
			"schema": map[string]any{"type": "boolean", "default": true}},
	}
}

func param(name string) map[string]any {
	return map[string]any{"$ref": "#/components/parameters/" + name}
}

func ok(desc string, schema map[string]any, contentType string) map[string]any {
	r := map[string]any{"description": desc}
	if schema != nil {
		r["content"] = map[string]any{contentType: map[string]any{"schema": schema}}
	} else {
		r["content"] = map[string]any{contentType: map[string]any{"schema": map[string]any{"type": "string", "contentMediaType": contentType}}}
	}
	return r
}

func (w *doc) op(tag, id, summary, desc string, params []any, success map[string]any) map[string]any {
	w.operations[id] = true
	return map[string]any{
		"tags": []any{tag}, "operationId": id, "summary": summary, "description": desc, "parameters": params,
		"responses": map[string]any{
			"200": success,
			"304": map[string]any{"$ref": "#/components/responses/NotModified"},
			"400": map[string]any{"$ref": "#/components/responses/BadRequest"},
			"404": map[string]any{"$ref": "#/components/responses/NotFound"},
			"429": map[string]any{"$ref": "#/components/responses/TooManyRequests"},
		},
	}
}

// opID makes an operationId part of a dataset id (letters, digits, _).
func opID(id string) string { return strings.ReplaceAll(id, "-", "_") }

// dataset adds a dataset's operations and record type.
func (w *doc) dataset(d Dataset) {
	tag := d.Title
	if tag == "" {
		tag = d.ID
	}
	tag += " (" + d.ID + ")"
	w.tags = append(w.tags, map[string]any{"name": tag, "description": "Jeu de données `" + d.ID + "`, sous licence " + LicenceName(d.Licence) + "."})
	rec := "Record_" + opID(d.ID)
	w.schemas[rec] = recordSchema(d)
	w.schemas["Records_"+opID(d.ID)] = map[string]any{"type": "object", "required": []any{"total_count", "results"}, "properties": map[string]any{
		"total_count": map[string]any{"type": "integer", "minimum": 0, "description": "Nombre d'enregistrements (ou de groupes) de la requête."},
		"results":     map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/" + rec}},
	}}
	base := "/catalog/datasets/" + d.ID
	fieldList := make([]string, 0, len(d.Fields))
	for _, f := range d.Fields {
		fieldList = append(fieldList, "`"+f.Name+"`")
	}
	fields := "Champs : " + strings.Join(fieldList, ", ") + "."
	if w.o.served("/catalog/datasets/{dataset_id}") {
		w.paths[base] = map[string]any{"get": w.op(tag, "getDataset_"+opID(d.ID), "Métadonnées de « "+d.Title+" »",
			"Titre, description, licence, mots-clés, nombre d'enregistrements et champs du jeu de données.", []any{},
			ok("Le jeu de données.", map[string]any{"$ref": "#/components/schemas/Dataset"}, "application/json"))}
	}
	query := []any{param("select"), param("where"), param("group_by"), param("order_by"), param("limit"), param("offset"),
		param("refine"), param("exclude"), param("lang"), param("timezone")}
	if w.o.served("/catalog/datasets/{dataset_id}/records") {
		w.paths[base+"/records"] = map[string]any{"get": w.op(tag, "getRecords_"+opID(d.ID), "Enregistrements de « "+d.Title+" »",
			"Les enregistrements, filtrés, triés, regroupés et paginés avec les paramètres ODSQL. "+fields, query,
			ok("Les enregistrements demandés.", map[string]any{"$ref": "#/components/schemas/Records_" + opID(d.ID)}, "application/json"))}
	}
	if w.o.served("/catalog/datasets/{dataset_id}/records/{record_id}") {
		w.paths[base+"/records/{record_id}"] = map[string]any{"get": w.op(tag, "getRecord_"+opID(d.ID), "Un enregistrement de « "+d.Title+" »",
			"Un enregistrement par son identifiant.", []any{map[string]any{"name": "record_id", "in": "path", "required": true,
				"description": "Identifiant de l'enregistrement.", "schema": map[string]any{"type": "string"}}, param("select"), param("lang"), param("timezone")},
			ok("L'enregistrement.", map[string]any{"$ref": "#/components/schemas/" + rec}, "application/json"))}
	}
	if w.o.served("/catalog/datasets/{dataset_id}/facets") {
		w.paths[base+"/facets"] = map[string]any{"get": w.op(tag, "getFacets_"+opID(d.ID), "Facettes de « "+d.Title+" »",
			"Les valeurs les plus fréquentes des champs, avec leur nombre, parmi les enregistrements gardés par `where`, `refine` et `exclude`.",
			[]any{param("facet"), param("where"), param("refine"), param("exclude"), param("lang"), param("timezone")},
			ok("Les facettes.", map[string]any{"$ref": "#/components/schemas/Facets"}, "application/json"))}
	}
	for _, f := range exportFormats {
		if !w.o.served("/catalog/datasets/{dataset_id}/exports/" + f.Ext) {
			continue
		}
		if f.Ext == "geojson" && !hasGeopoint(d) {
			continue // the server answers 400 without a geopoint field
		}
		params := []any{param("select"), param("where"), param("group_by"), param("order_by"), param("refine"), param("exclude"), param("lang"), param("timezone"),
			map[string]any{"name": "limit", "in": "query", "required": false, "description": "Nombre d'enregistrements (-1 ou absent : tous).", "schema": map[string]any{"type": "integer", "minimum": -1}},
			param("offset")}
		var schema map[string]any
		switch f.Ext {
		case "csv":
			params = append(params, param("delimiter"), param("with_bom"))
		case "json":
			schema = map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/" + rec}}
		}
		w.paths[base+"/exports/"+f.Ext] = map[string]any{"get": w.op(tag, "export"+strings.ToUpper(f.Ext[:1])+f.Ext[1:]+"_"+opID(d.ID),
			"Export "+strings.ToUpper(f.Ext)+" de « "+d.Title+" »", "Tous les enregistrements de la requête, sans limite de pagination : "+f.Fr+".",
			params, ok("Le fichier exporté.", schema, f.Type))}
	}
}

// recordSchema is the JSON Schema of a dataset's record.
func recordSchema(d Dataset) map[string]any {
	props := map[string]any{}
	var required []any
	for _, f := range d.Fields {
		props[f.Name] = fieldSchema(f)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	s := map[string]any{
		"type": "object", "properties": props,
		"description":          "Un enregistrement de « " + d.Title + " ». Avec `select` ou `group_by`, les clés sont les expressions ou alias demandés.",
		"additionalProperties": true,
	}
	if len(required) > 0 {
		s["x-required-in-source"] = required // required by the schema; select may leave them out
	}
	return s
}

// fieldSchema is a field's JSON Schema: the JSON type the API answers
// (from the Table Schema type, else the column kind), nullable unless
// required, with the schema's constraints.
func fieldSchema(f Field) map[string]any {
	typ, format := jsonType(f)
	s := map[string]any{}
	if f.Required {
		s["type"] = typ
	} else {
		s["type"] = []any{typ, "null"}
	}
	if format != "" {
		s["format"] = format
	}
	if f.Title != "" {
		s["title"] = f.Title
	}
	if f.Description != "" {
		s["description"] = f.Description
	}
	if f.Type != "" {
		s["x-tableschema-type"] = f.Type
		if f.Format != "" && f.Format != "default" {
			s["x-tableschema-format"] = f.Format
		}
	}
	if len(f.Enum) > 0 && typ == "string" {
		var enum []any
		for _, v := range f.Enum {
			if sv, ok := v.(string); ok {
				enum = append(enum, sv)
			}
		}
		if len(enum) == len(f.Enum) {
			if !f.Required {
				enum = append(enum, nil)
			}
			s["enum"] = enum
		}
	}
	if f.Pattern != "" && typ == "string" && f.Type == "string" {
		// Table Schema patterns are anchored (XML Schema); JSON Schema's
		// are not. One Go cannot read is left out rather than mistranslated.
		p := "^(?:" + f.Pattern + ")$"
		if _, err := regexp.Compile(p); err == nil {
			s["pattern"] = p
		}
	}
	if typ == "integer" || typ == "number" {
		if n, ok := number(f.Minimum); ok {
			s["minimum"] = n
		}
		if n, ok := number(f.Maximum); ok {
			s["maximum"] = n
		}
	}
	if typ == "string" && f.Type == "string" {
		if f.MinLen != nil {
			s["minLength"] = *f.MinLen
		}
		if f.MaxLen != nil {
			s["maxLength"] = *f.MaxLen
		}
	}
	if f.Example != nil {
		s["examples"] = []any{f.Example}
	}
	return s
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// jsonType is the JSON type and format of a field as the API answers it:
// integer and year are integers, number a number, boolean a boolean,
// date and datetime strings (RFC 3339), anything else text.
func jsonType(f Field) (string, string) {
	t := f.Type
	if t == "" {
		switch f.Kind {
		case "integer":
			t = "integer"
		case "numeric":
			t = "number"
		case "boolean":
			t = "boolean"
		case "date":
			t = "date"
		case "timestamp":
			t = "datetime"
		}
	}
	switch t {
	case "integer", "year":
		return "integer", ""
	case "number":
		return "number", ""
	case "boolean":
		return "boolean", ""
	case "date":
		return "string", "date"
	case "datetime":
		return "string", "date-time"
	case "string":
		switch f.Format {
		case "email":
			return "string", "email"
		case "uri":
			return "string", "uri"
		case "uuid":
			return "string", "uuid"
		}
	}
	return "string", ""
}

// hasGeopoint reports whether the dataset has a geopoint field, which the
// GeoJSON export needs.
func hasGeopoint(d Dataset) bool {
	for _, f := range d.Fields {
		if f.Kind == "geopoint" || f.Type == "geopoint" {
			return true
		}
	}
	return false
}
