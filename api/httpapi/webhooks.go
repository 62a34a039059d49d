package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

type webhookJSON struct {
	ID             string         `json:"id"`
	URL            string         `json:"url"`
	Events         []string       `json:"events"`
	LastDeliveries []deliveryJSON `json:"last_deliveries"`
}

type deliveryJSON struct {
	EventID     string    `json:"event_id"`
	EventType   string    `json:"event_type"`
	RunID       int64     `json:"run_id"`
	Attempt     int       `json:"attempt"`
	Delivered   bool      `json:"delivered"`
	StatusCode  *int      `json:"status_code"`
	Error       *string   `json:"error"`
	DurationMS  int64     `json:"duration_ms"`
	DeliveredAt time.Time `json:"attempted_at"`
}

// listWebhooks shows the configured hooks with their latest deliveries.
func (s *Server) listWebhooks(c echo.Context) error {
	out := itemsJSON[webhookJSON]{Items: []webhookJSON{}}
	if s.svc.Webhooks != nil {
		hooks, err := s.svc.Webhooks.Webhooks(c.Request().Context())
		if err != nil {
			return err
		}
		for _, h := range hooks {
			w := webhookJSON{ID: h.ID, URL: h.URL, Events: h.Events, LastDeliveries: make([]deliveryJSON, len(h.LastDeliveries))}
			for i, d := range h.LastDeliveries {
				dj := deliveryJSON{EventID: d.EventID, EventType: d.EventType, RunID: d.RunID, Attempt: d.Attempt,
					Delivered: d.Delivered(), DurationMS: d.Duration.Milliseconds(), DeliveredAt: d.At}
				if d.StatusCode != 0 {
					code := d.StatusCode
					dj.StatusCode = &code
				}
				if d.Error != "" {
					msg := d.Error
					dj.Error = &msg
				}
				w.LastDeliveries[i] = dj
			}
			out.Items = append(out.Items, w)
		}
	}
	return c.JSON(http.StatusOK, out)
}
