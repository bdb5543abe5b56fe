package store

// SetLoadChunks makes release loads use batches and chunks of the given
// row counts (tests see several chunks with few rows); it returns the
// restore function.
func SetLoadChunks(batch int, chunk int64) func() {
	b, c := batchRows, chunkMaxRows
	batchRows, chunkMaxRows = batch, chunk
	return func() { batchRows, chunkMaxRows = b, c }
}
