package postgres

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

// MaxLogPage bounds the text returned by one ReadLog call, so a 10 MiB log
// is fetched in pieces rather than in one response.
const MaxLogPage = 256 << 10

// logChunksPerRead bounds the chunks one ReadLog fetches; a page that stops
// at it reports more to come.
const logChunksPerRead = 64

// readLogSQL reads a run's status and the chunks from the one holding
// @offset on: one statement, so one snapshot.
const readLogSQL = `
SELECT r.status, c.byte_offset, c.data
FROM runs r
LEFT JOIN LATERAL (
	SELECT byte_offset, data FROM run_log_chunks
	WHERE run_id = r.id AND byte_offset >= coalesce(
		(SELECT max(byte_offset) FROM run_log_chunks WHERE run_id = r.id AND byte_offset <= @offset), 0)
	ORDER BY byte_offset LIMIT @max_chunks) c ON true
WHERE r.id = @run_id
ORDER BY c.byte_offset`

type logChunk struct {
	ByteOffset int64
	Data       string
}

// ReadLog returns a run's log from a byte offset. The status and the chunks
// come from one statement, so from one snapshot: a run seen as final has all
// of its chunks committed (they are written before or with the final status),
// so Complete is never reported while text is still missing.
func (s *Store) ReadLog(ctx context.Context, runID int64, offset int64) (*domain.LogPage, error) {
	// The run row yields one line even without chunks, which tells an
	// unknown run from an empty log in the same round trip.
	rs, err := s.db.Pool.Query(ctx, readLogSQL, pgx.NamedArgs{"run_id": runID, "offset": offset, "max_chunks": logChunksPerRead})
	if err != nil {
		return nil, wrapDBError(err)
	}
	var status domain.RunStatus
	var chunks []logChunk
	var chunkOffset *int64
	var data *string
	_, err = pgx.ForEachRow(rs, []any{&status, &chunkOffset, &data}, func() error {
		if chunkOffset != nil {
			chunks = append(chunks, logChunk{ByteOffset: *chunkOffset, Data: *data})
		}
		return nil
	})
	if err != nil {
		return nil, wrapDBError(err)
	}
	if status == "" {
		return nil, runNotFound(runID)
	}
	page := &domain.LogPage{Offset: offset, NextOffset: offset}
	var b strings.Builder
	more := false
	for i, c := range chunks {
		end := c.ByteOffset + int64(len(c.Data))
		if end <= offset {
			continue
		}
		if b.Len() >= MaxLogPage {
			more = true
			break
		}
		data := c.Data
		if c.ByteOffset < offset {
			data = data[offset-c.ByteOffset:]
		}
		b.WriteString(data)
		page.NextOffset = end
		if i == len(chunks)-1 && len(chunks) == logChunksPerRead {
			more = true
		}
	}
	// An offset inside a multi-byte character yields a broken first rune;
	// never hand invalid UTF-8 to a JSON client.
	text := b.String()
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	page.Text = text
	page.Complete = status.Final() && !more
	return page, nil
}

const appendLogSQL = `
INSERT INTO run_log_chunks (run_id, byte_offset, end_offset, data)
VALUES (@run_id, @offset, @end_offset, @text)
ON CONFLICT DO NOTHING`

// AppendLog implements domain.RunStore.
func (s *Store) AppendLog(ctx context.Context, runID int64, offset int64, text string) error {
	args := pgx.NamedArgs{"run_id": runID, "offset": offset, "end_offset": offset + int64(len(text)), "text": text}
	tag, err := s.db.Pool.Exec(ctx, appendLogSQL, args)
	if err != nil {
		return wrapDBError(err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// A retry of an append whose success report was lost finds its own text.
	var existing string
	if err := s.db.Pool.QueryRow(ctx, `SELECT data FROM run_log_chunks WHERE run_id = @run_id AND byte_offset = @offset`,
		args).Scan(&existing); err != nil {
		return wrapDBError(err)
	}
	if existing == text {
		return nil
	}
	return domain.ErrLogConflict
}
