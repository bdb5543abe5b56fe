package store

import (
	"context"
	"fmt"
)

// FileCollected is the kind of a file staged by civicflow.collect: a
// snapshot of a URL source (URL, ETag and Last-Modified say where and when
// it came from). Unlike FileURL, its bytes never change.
const FileCollected = "collected"

// LatestCollected returns the newest file of the dataset collected from
// url, or ErrNotFound: its validators make the next collection a
// conditional request.
func (s *Store) LatestCollected(ctx context.Context, datasetID, url string) (DataFile, error) {
	return getOne[DataFile](ctx, s, fmt.Sprintf("collected file of %q from %q", datasetID, url),
		`SELECT `+dataFileColumns+` FROM dataset_files WHERE dataset_id = ? AND kind = ? AND url = ?
		ORDER BY fetched_at DESC, created_at DESC, id DESC LIMIT 1`, datasetID, FileCollected, url)
}
