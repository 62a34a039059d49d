package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

// keptDeliveries is how many deliveries of each hook are kept.
const keptDeliveries = 50

var _ domain.WebhookStore = (*Store)(nil)

// recordDeliverySQL stores one attempt and drops the hook's attempts beyond
// the latest keptDeliveries.
const recordDeliverySQL = `
WITH ins AS (
	INSERT INTO webhook_deliveries (hook_id, event_id, event_type, run_id, attempt, status_code, error, duration_ms, delivered_at)
	VALUES (@hook_id, @event_id, @event_type, @run_id, @attempt, @status_code, @error, @duration_ms, @delivered_at)
	RETURNING id)
DELETE FROM webhook_deliveries
WHERE hook_id = @hook_id AND id < (
	SELECT id FROM webhook_deliveries WHERE hook_id = @hook_id ORDER BY id DESC OFFSET @keep - 1 LIMIT 1)`

// RecordWebhookDelivery implements domain.WebhookStore.
func (s *Store) RecordWebhookDelivery(ctx context.Context, d domain.WebhookDelivery) error {
	_, err := s.db.Pool.Exec(ctx, recordDeliverySQL, pgx.NamedArgs{
		"hook_id": d.HookID, "event_id": d.EventID, "event_type": d.EventType, "run_id": d.RunID,
		"attempt": d.Attempt, "status_code": d.StatusCode, "error": d.Error,
		"duration_ms": d.Duration.Milliseconds(), "delivered_at": d.At, "keep": keptDeliveries,
	})
	if err != nil {
		return fmt.Errorf("record webhook delivery: %w", wrapDBError(err))
	}
	return nil
}

const lastDeliveriesSQL = `
SELECT hook_id, event_id, event_type, run_id, attempt, status_code, error, duration_ms, delivered_at
FROM webhook_deliveries WHERE hook_id = @hook_id ORDER BY id DESC LIMIT @limit`

// LastWebhookDeliveries implements domain.WebhookStore.
func (s *Store) LastWebhookDeliveries(ctx context.Context, hookID string, limit int) ([]domain.WebhookDelivery, error) {
	rows, err := s.db.Pool.Query(ctx, lastDeliveriesSQL, pgx.NamedArgs{"hook_id": hookID, "limit": limit})
	if err != nil {
		return nil, wrapDBError(err)
	}
	out := []domain.WebhookDelivery{}
	for rows.Next() {
		var d domain.WebhookDelivery
		var ms int64
		if err := rows.Scan(&d.HookID, &d.EventID, &d.EventType, &d.RunID, &d.Attempt, &d.StatusCode, &d.Error, &ms, &d.At); err != nil {
			rows.Close()
			return nil, wrapDBError(err)
		}
		d.Duration, d.At = time.Duration(ms)*time.Millisecond, d.At.UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapDBError(err)
	}
	return out, nil
}
