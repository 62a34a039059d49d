package postgres

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/baton-ci/baton/api/domain"
)

// MaxLogPage bounds the text returned by one ReadLog call, so a 10 MiB log
// is fetched in pieces rather than in one response.
const MaxLogPage = 256 << 10

// ReadLog returns a run's log from a byte offset. The run's status is read
// before its chunks: a run seen as final has all of its chunks committed, so
// Complete is never reported while text is still missing.
func (s *Store) ReadLog(ctx context.Context, runID int64, offset int64) (*domain.LogPage, error) {
	// Only the status is needed; the full run row costs more than the log.
	status, err := runStatus(s.db.Gorm.WithContext(ctx), runID)
	if err != nil {
		return nil, wrapDBError(err)
	}
	var chunks []struct {
		ByteOffset int64
		Data       string
	}
	err = s.db.Gorm.WithContext(ctx).Raw(`SELECT byte_offset, data FROM run_log_chunks
		WHERE run_id = ? AND byte_offset >= coalesce(
			(SELECT max(byte_offset) FROM run_log_chunks WHERE run_id = ? AND byte_offset <= ?), 0)
		ORDER BY byte_offset LIMIT 64`, runID, runID, offset).Scan(&chunks).Error
	if err != nil {
		return nil, wrapDBError(err)
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
		if i == len(chunks)-1 && len(chunks) == 64 {
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
