package httpapi

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/baton-ci/baton/api/domain"
)

// listCache shares the encoded answers of the lists every open UI polls each
// second (GET /api/runs, mostly its first page, and GET /api/environments)
// between the clients asking within a short window. Without it the database
// and the JSON encoder do the same work once per client; with it, once per
// TTL whatever the number of clients. The price is an answer up to TTL old,
// invisible in a UI that polls every second; writes through this process
// (create, cancel, rerun) clear it at once.
type listCache struct {
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group

	mu      sync.Mutex
	gen     uint64
	entries map[listKey]listEntry
}

type listEntry struct {
	body    []byte
	expires time.Time
}

// loadTimeout bounds a shared load, which no single client can cancel.
const loadTimeout = 30 * time.Second

// maxListEntries bounds the cache; filtered pages are many but rarely shared.
const maxListEntries = 256

func newListCache(ttl time.Duration, now func() time.Time) *listCache {
	if ttl <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &listCache{ttl: ttl, now: now, entries: map[listKey]listEntry{}}
}

// listKey names one shared answer. It is a comparable value, so a cache hit
// costs a map lookup and no encoding.
type listKey struct {
	environments bool            // GET /api/environments
	runs         domain.RunQuery // else this page of GET /api/runs
}

// runsKey is the cache key of one page of GET /api/runs.
func runsKey(q domain.RunQuery) listKey { return listKey{runs: q} }

// environmentsKey is the cache key of GET /api/environments.
var environmentsKey = listKey{environments: true}

// flightKey is key as singleflight wants it, a string; only misses need it.
func (k listKey) flightKey(gen uint64) string {
	b, _ := json.Marshal(k.runs)
	return strconv.FormatUint(gen, 10) + " " + strconv.FormatBool(k.environments) + " " + string(b)
}

// get returns the encoded answer for key, computing it with load at most
// once per TTL and concurrently waiting callers.
func (c *listCache) get(ctx context.Context, key listKey, load func(context.Context) (any, error)) ([]byte, error) {
	if c == nil {
		v, err := load(ctx)
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	}
	now := c.now()
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.body, nil
	}
	gen := c.gen
	c.mu.Unlock()

	// The generation in the key keeps a caller that comes after a write
	// from joining a load that started before it.
	v, err, _ := c.group.Do(key.flightKey(gen), func() (any, error) {
		// The answer is shared: the client that happened to start the load
		// going away must not fail the others waiting for it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		page, err := load(ctx)
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
			c.entries[key] = listEntry{body: body, expires: c.now().Add(c.ttl)}
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
