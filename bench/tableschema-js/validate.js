#!/usr/bin/env node
// Validates a CSV file against a Table Schema with the frictionless
// JavaScript `tableschema` package (Table/Schema API), streaming, and prints
//   {"rows":N,"errors":M,"seconds":S,"rowsPerSecond":R}
// on stdout. The first few errors go to stderr.
//
//   node validate.js data.csv schema.json
//
// What is checked is what the library checks when it reads a table with
// casting on: header names, type casting of every cell, field constraints
// (required, pattern, enum, minLength/maxLength, minimum/maximum, unique),
// primary/unique keys. It knows nothing of `custom_checks` (the
// french-siret-value and one-of-required checks of scdl-subventions are
// skipped), exactly like the library used on its own.
//
// `forceCast: true` makes the iterator yield a row's cast error instead of
// stopping at the first bad row, so the whole file is always read.
// Timing starts after the schema is loaded and covers opening, parsing,
// casting and checking the table.
'use strict'

const fs = require('fs')
const { Table, Schema } = require('tableschema')

async function main () {
  const [csvPath, schemaPath] = process.argv.slice(2)
  if (!csvPath || !schemaPath) {
    console.error('usage: node validate.js data.csv schema.json')
    process.exit(2)
  }
  const descriptor = JSON.parse(fs.readFileSync(schemaPath, 'utf8'))
  const schema = await Schema.load(descriptor)
  if (!schema.valid) {
    for (const e of schema.errors) console.error('schema: ' + e.message)
    process.exit(2)
  }

  const t0 = process.hrtime.bigint()
  const table = await Table.load(csvPath, { schema })
  const iterator = await table.iter({ forceCast: true })
  let rows = 0
  let errors = 0
  let shown = 0
  for await (const row of iterator) {
    rows++
    if (row instanceof Error) {
      const cells = row.errors && row.errors.length ? row.errors : [row]
      errors += cells.length
      for (const e of cells) {
        if (shown++ < 5) console.error(`row ${row.rowNumber}: ${e.message}`)
      }
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9

  const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d
  console.log(JSON.stringify({
    rows,
    errors,
    seconds: round(seconds, 3),
    rowsPerSecond: Math.round(rows / seconds)
  }))
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})
