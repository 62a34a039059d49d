package httpapi

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/baton-ci/baton/api/domain"
)

// listCache shares the encoded answer of GET /api/runs between the clients
// that poll the same page within a short window. Every open UI polls the
// runs table each second, mostly the same first page, so without it the
// database and the JSON encoder do the same work once per client; with it,
// once per TTL whatever the number of clients. The price is an answer up to
// TTL old, invisible in a UI that polls every second; writes through this
// process (create, cancel, rerun) clear it at once.
type listCache struct {
	ttl   time.Duration
	group singleflight.Group

	mu      sync.Mutex
	gen     uint64
	entries map[domain.RunFilter]listEntry
}

type listEntry struct {
	body    []byte
	expires time.Time
}

// maxListEntries bounds the cache; filtered pages are many but rarely shared.
const maxListEntries = 256

func newListCache(ttl time.Duration) *listCache {
	if ttl <= 0 {
		return nil
	}
	return &listCache{ttl: ttl, entries: map[domain.RunFilter]listEntry{}}
}

// get returns the encoded page for f, computing it with load at most once
// per TTL and concurrently waiting callers.
func (c *listCache) get(f domain.RunFilter, load func() (any, error)) ([]byte, error) {
	if c == nil {
		v, err := load()
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	}
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.entries[f]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.body, nil
	}
	gen := c.gen
	c.mu.Unlock()

	// The generation in the key keeps a caller that comes after a write
	// from joining a load that started before it.
	key, _ := json.Marshal(f)
	v, err, _ := c.group.Do(strconv.FormatUint(gen, 10)+string(key), func() (any, error) {
		page, err := load()
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(page)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		// A write during the load may not be in this page: do not keep it.
		if c.gen == gen {
			if len(c.entries) >= maxListEntries {
				clear(c.entries)
			}
			c.entries[f] = listEntry{body: body, expires: time.Now().Add(c.ttl)}
		}
		return body, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// invalidate drops every cached page, after a write through this process.
func (c *listCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.mu.Unlock()
}
