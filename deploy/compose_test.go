// Package deploy_test checks docker-compose.yml and the Dockerfiles without
// Docker: the compose file is loaded, interpolated and validated by
// compose-spec/compose-go, the library `docker compose` itself uses, and the
// Dockerfiles are read instruction by instruction.
package deploy_test

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// repoRoot is the repository root: go test runs in deploy/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// loadProject loads docker-compose.yml as `docker compose` would, with
// exactly env as the environment (not the test process's, nor a .env file),
// so a developer's settings cannot change the outcome.
func loadProject(t *testing.T, env ...string) *types.Project {
	t.Helper()
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(env),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %q: %v", name, err)
	}
	return s
}

func envValue(t *testing.T, s types.ServiceConfig, name string) string {
	t.Helper()
	v, ok := s.Environment[name]
	if !ok || v == nil {
		t.Fatalf("service %s: environment variable %s is not set", s.Name, name)
	}
	return *v
}

func TestComposeServices(t *testing.T) {
	p := loadProject(t)
	got := p.ServiceNames()
	slices.Sort(got)
	want := []string{"api", "db", "frontend", "worker"}
	if !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
	if p.Name != "baton" {
		t.Errorf("project name = %q, want baton", p.Name)
	}
	if img := service(t, p, "db").Image; !strings.HasPrefix(img, "postgres:15") {
		t.Errorf("db image = %q, want postgres:15", img)
	}
	// The API and the workers must run the same build.
	api, worker := service(t, p, "api"), service(t, p, "worker")
	if api.Image == "" || api.Image != worker.Image {
		t.Errorf("api image %q and worker image %q differ", api.Image, worker.Image)
	}
	if api.Build == nil || worker.Build == nil || api.Build.Dockerfile != worker.Build.Dockerfile {
		t.Errorf("api and worker must build the same Dockerfile")
	}
}

func TestComposeHealthchecks(t *testing.T) {
	p := loadProject(t)
	for name, want := range map[string]string{
		"db":  "pg_isready",
		"api": "http://localhost:8080/api/health",
	} {
		hc := service(t, p, name).HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) == 0 {
			t.Errorf("%s: no healthcheck", name)
			continue
		}
		if cmd := strings.Join(hc.Test, " "); !strings.Contains(cmd, want) {
			t.Errorf("%s healthcheck %q does not use %s", name, cmd, want)
		}
	}
}

func TestComposeAPIAndWorkerCommands(t *testing.T) {
	p := loadProject(t)
	api := service(t, p, "api")
	if !slices.Equal(api.Command, []string{"serve"}) {
		t.Errorf("api command = %q, want [serve]", api.Command)
	}
	if b, err := strconv.ParseBool(envValue(t, api, "BATON_EMBEDDED_WORKER")); err != nil || b {
		t.Errorf("api BATON_EMBEDDED_WORKER = %q, want false", envValue(t, api, "BATON_EMBEDDED_WORKER"))
	}
	worker := service(t, p, "worker")
	if !slices.Equal(worker.Command, []string{"worker"}) {
		t.Errorf("worker command = %q, want [worker]", worker.Command)
	}
	if got := envValue(t, worker, "BATON_API_URL"); got != "http://api:8080" {
		t.Errorf("worker BATON_API_URL = %q, want http://api:8080", got)
	}
	if _, ok := worker.Environment["BATON_EMBEDDED_WORKER"]; ok {
		t.Errorf("worker sets BATON_EMBEDDED_WORKER, which only `serve` reads")
	}
	// The API token reaches the API, which requires it, and the workers,
	// which hand it to tests of Baton's own API. Whoever can start a run
	// already holds it, so a test that reads it gains nothing.
	p = loadProject(t, "BATON_API_TOKEN=s3cret")
	for _, name := range []string{"api", "worker"} {
		if got := envValue(t, service(t, p, name), "BATON_API_TOKEN"); got != "s3cret" {
			t.Errorf("%s BATON_API_TOKEN = %q, want it passed through", name, got)
		}
	}
	// Uploads must land on the shared volume, not in the image's sample tests.
	for _, name := range []string{"api", "worker"} {
		if got := envValue(t, service(t, p, name), "BATON_SAMPLE_TESTS_WRITABLE"); got != "false" {
			t.Errorf("%s BATON_SAMPLE_TESTS_WRITABLE = %q, want false", name, got)
		}
	}
}

func TestComposeDatabaseURL(t *testing.T) {
	const def = "postgres://baton:baton@db:5432/baton?sslmode=disable"
	p := loadProject(t)
	for _, name := range []string{"api", "worker"} {
		if got := envValue(t, service(t, p, name), "DATABASE_URL"); got != def {
			t.Errorf("%s DATABASE_URL = %q, want %q", name, got, def)
		}
	}
	if got := envValue(t, service(t, p, "db"), "POSTGRES_PASSWORD"); got != "baton" {
		t.Errorf("db POSTGRES_PASSWORD = %q, want baton", got)
	}

	p = loadProject(t, "POSTGRES_PASSWORD=s3cret")
	if got := envValue(t, service(t, p, "db"), "POSTGRES_PASSWORD"); got != "s3cret" {
		t.Errorf("db POSTGRES_PASSWORD = %q, want s3cret", got)
	}
	for _, name := range []string{"api", "worker"} {
		if got, want := envValue(t, service(t, p, name), "DATABASE_URL"), "postgres://baton:s3cret@db:5432/baton?sslmode=disable"; got != want {
			t.Errorf("with POSTGRES_PASSWORD: %s DATABASE_URL = %q, want %q", name, got, want)
		}
	}

	const ext = "postgres://u:p@elsewhere:5432/baton"
	p = loadProject(t, "DATABASE_URL="+ext)
	for _, name := range []string{"api", "worker"} {
		if got := envValue(t, service(t, p, name), "DATABASE_URL"); got != ext {
			t.Errorf("with DATABASE_URL: %s DATABASE_URL = %q, want %q", name, got, ext)
		}
	}
}

func TestComposeDependsOn(t *testing.T) {
	p := loadProject(t)
	for _, c := range []struct{ svc, on, cond string }{
		{"api", "db", types.ServiceConditionHealthy},
		{"worker", "db", types.ServiceConditionHealthy},
		{"worker", "api", types.ServiceConditionHealthy}, // so migrations ran
		{"frontend", "api", types.ServiceConditionHealthy},
	} {
		dep, ok := service(t, p, c.svc).DependsOn[c.on]
		if !ok {
			t.Errorf("%s does not depend on %s", c.svc, c.on)
			continue
		}
		if dep.Condition != c.cond {
			t.Errorf("%s depends on %s with condition %q, want %q", c.svc, c.on, dep.Condition, c.cond)
		}
	}
}

// mount returns the target of the named volume source mounted in s.
func mount(s types.ServiceConfig, source string) (string, bool) {
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Source == source {
			return v.Target, true
		}
	}
	return "", false
}

func TestComposeUploadsShared(t *testing.T) {
	p := loadProject(t)
	apiTarget, ok := mount(service(t, p, "api"), "uploads")
	if !ok {
		t.Fatal("api does not mount the uploads volume")
	}
	workerTarget, ok := mount(service(t, p, "worker"), "uploads")
	if !ok {
		t.Fatal("worker does not mount the uploads volume")
	}
	if apiTarget != workerTarget {
		t.Errorf("uploads mounted at %s in api but %s in worker", apiTarget, workerTarget)
	}
	// Baton stores uploads in $BATON_DATA_DIR/uploads.
	img := readDockerfile(t, "deploy/Dockerfile")
	dataDir := img.final().env["BATON_DATA_DIR"]
	if dataDir == "" {
		t.Fatal("deploy/Dockerfile does not set BATON_DATA_DIR")
	}
	if want := path.Join(dataDir, "uploads"); apiTarget != want {
		t.Errorf("uploads mounted at %s, but BATON_DATA_DIR=%s stores them in %s", apiTarget, dataDir, want)
	}
	for _, name := range []string{"api", "worker"} {
		if _, ok := service(t, p, name).Environment["BATON_DATA_DIR"]; ok {
			t.Errorf("%s overrides BATON_DATA_DIR; the mount relies on the image's", name)
		}
	}
	if target, ok := mount(service(t, p, "db"), "pgdata"); !ok || target != "/var/lib/postgresql/data" {
		t.Errorf("db must keep its data on the pgdata volume at /var/lib/postgresql/data, got %q", target)
	}
}

func TestComposeNamedVolumesDeclared(t *testing.T) {
	p := loadProject(t)
	for _, name := range []string{"pgdata", "uploads"} {
		if _, ok := p.Volumes[name]; !ok {
			t.Errorf("volume %q is not declared", name)
		}
	}
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				t.Errorf("%s bind-mounts %s: use named volumes so the file works on any host", s.Name, v.Source)
			}
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("%s mounts undeclared volume %q", s.Name, v.Source)
				}
			}
		}
	}
}

// TestComposeWorkerScales: `docker compose up --scale worker=N` fails on a
// fixed container name or host port, and a fixed hostname would give every
// worker the same id.
func TestComposeWorkerScales(t *testing.T) {
	p := loadProject(t)
	w := service(t, p, "worker")
	if w.ContainerName != "" {
		t.Errorf("worker has container_name %q", w.ContainerName)
	}
	if w.Hostname != "" {
		t.Errorf("worker has a fixed hostname %q; worker ids default to hostname-pid", w.Hostname)
	}
	for _, port := range w.Ports {
		t.Errorf("worker publishes port %+v", port)
	}
	if _, ok := w.Environment["BATON_WORKER_ID"]; ok {
		t.Errorf("worker sets a fixed BATON_WORKER_ID; scaled workers would share it")
	}
	// Nothing but the frontend publishes ports: one URL for users.
	for _, s := range p.Services {
		if s.Name != "frontend" && len(s.Ports) > 0 {
			t.Errorf("%s publishes ports %+v", s.Name, s.Ports)
		}
	}
}

func frontendPort(t *testing.T, p *types.Project) string {
	t.Helper()
	f := service(t, p, "frontend")
	for _, port := range f.Ports {
		if port.Target == 80 {
			return port.Published
		}
	}
	t.Fatalf("frontend does not publish its port 80: %+v", f.Ports)
	return ""
}

func TestComposeFrontendPort(t *testing.T) {
	if got := frontendPort(t, loadProject(t)); got != "8080" {
		t.Errorf("frontend published on %q by default, want 8080", got)
	}
	if got := frontendPort(t, loadProject(t, "BATON_PORT=9090")); got != "9090" {
		t.Errorf("frontend published on %q with BATON_PORT=9090", got)
	}
	f := service(t, loadProject(t), "frontend")
	if got := envValue(t, f, "BATON_API_UPSTREAM"); got != "api:8080" {
		t.Errorf("frontend BATON_API_UPSTREAM = %q, want api:8080", got)
	}
}

func TestComposeDockerfilesExist(t *testing.T) {
	p := loadProject(t)
	root := repoRoot(t)
	built := 0
	for _, s := range p.Services {
		if s.Build == nil {
			continue
		}
		built++
		if rel, err := filepath.Rel(root, s.Build.Context); err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("%s builds from %s, outside the repository", s.Name, s.Build.Context)
		}
		df := s.Build.Dockerfile
		if !filepath.IsAbs(df) {
			df = filepath.Join(s.Build.Context, df)
		}
		if fi, err := os.Stat(df); err != nil || fi.IsDir() {
			t.Errorf("%s: build.dockerfile %s does not exist", s.Name, df)
		}
	}
	if built != 3 {
		t.Errorf("%d services are built here, want 3 (api, worker, frontend)", built)
	}
}

// TestDockerfileRuntime checks what the server image promises.
func TestDockerfileRuntime(t *testing.T) {
	d := readDockerfile(t, "deploy/Dockerfile")
	if len(d.stages) < 2 {
		t.Fatalf("deploy/Dockerfile has %d stages, want a build and a runtime stage", len(d.stages))
	}
	build := d.stages[0]
	if !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("build stage FROM %s, want golang", build.from)
	}
	if !build.runs("CGO_ENABLED=0") || !build.runs("-trimpath") || !build.runs("./api/cmd/baton") {
		t.Errorf("build stage does not run CGO_ENABLED=0 go build -trimpath ./api/cmd/baton")
	}

	rt := d.final()
	if !strings.HasPrefix(rt.from, "debian:bookworm-slim") {
		t.Errorf("runtime stage FROM %s, want debian:bookworm-slim", rt.from)
	}
	for _, pkg := range []string{"python3", "python3-pytest", "python3-requests", "ca-certificates"} {
		if !rt.installs(pkg) {
			t.Errorf("runtime stage does not apt-get install %s", pkg)
		}
	}
	if rt.user == "" {
		t.Error("runtime stage has no USER: tests would run as root")
	} else if u, _, _ := strings.Cut(rt.user, ":"); u == "root" || u == "0" {
		t.Errorf("runtime stage runs as USER %s", rt.user)
	}
	if rt.env["BATON_DATA_DIR"] != "/var/lib/baton" {
		t.Errorf("BATON_DATA_DIR = %q, want /var/lib/baton", rt.env["BATON_DATA_DIR"])
	}
	// The sample tests must sit where BATON_SAMPLE_TESTS_DIR points.
	samples := rt.env["BATON_SAMPLE_TESTS_DIR"]
	if samples == "" {
		samples = "sample-tests"
	}
	if !path.IsAbs(samples) {
		samples = path.Join(rt.workdir, samples)
	}
	if dst, ok := rt.copies["sample-tests"]; !ok {
		t.Error("runtime stage does not COPY sample-tests")
	} else if dst != samples {
		t.Errorf("sample-tests copied to %s, but Baton looks in %s", dst, samples)
	}
	if !rt.hasCopyFrom(build.name) {
		t.Errorf("runtime stage does not copy the binary from stage %q", build.name)
	}
}

func TestFrontendDockerfile(t *testing.T) {
	d := readDockerfile(t, "deploy/frontend.Dockerfile")
	if !strings.HasPrefix(d.stages[0].from, "node:") || !d.stages[0].runs("npm ci") || !d.stages[0].runs("npm run build") {
		t.Error("frontend build stage must npm ci and npm run build on a node image")
	}
	rt := d.final()
	if !strings.HasPrefix(rt.from, "nginx:") {
		t.Errorf("frontend runtime FROM %s, want nginx", rt.from)
	}
	if _, ok := rt.copies["deploy/nginx.conf"]; !ok {
		t.Error("frontend image does not COPY deploy/nginx.conf")
	}
	conf, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"location /api/", "proxy_buffering off", "try_files $uri $uri/ /index.html",
		"client_max_body_size", "gzip on", "location /assets/", "immutable",
	} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("deploy/nginx.conf lacks %q", want)
		}
	}
	// Every ${NAME} the image's entrypoint substitutes must be set by the image.
	for _, m := range regexp.MustCompile(`\$\{(\w+)\}`).FindAllStringSubmatch(string(conf), -1) {
		name := m[1]
		if _, ok := rt.env[name]; !ok && name != "NGINX_LOCAL_RESOLVERS" {
			t.Errorf("deploy/nginx.conf uses ${%s}, which frontend.Dockerfile does not set", name)
		}
	}
	if rt.env["NGINX_ENTRYPOINT_LOCAL_RESOLVERS"] == "" {
		t.Error("nginx.conf needs ${NGINX_LOCAL_RESOLVERS}: set NGINX_ENTRYPOINT_LOCAL_RESOLVERS")
	}
}

// TestDockerContext: every file a Dockerfile copies from the build context
// exists and is not dropped by .dockerignore.
func TestDockerContext(t *testing.T) {
	root := repoRoot(t)
	ignore := readDockerignore(t, filepath.Join(root, ".dockerignore"))
	for _, name := range []string{"deploy/Dockerfile", "deploy/frontend.Dockerfile"} {
		d := readDockerfile(t, name)
		for _, st := range d.stages {
			for _, src := range st.contextSources {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s copies %s, which does not exist", name, src)
				}
				if pat, ok := ignore.excludes(src); ok {
					t.Errorf("%s copies %s, but .dockerignore excludes it (%s)", name, src, pat)
				}
			}
		}
	}
	for _, must := range []string{".data", "bin", "frontend/node_modules", "frontend/dist", ".git"} {
		if _, ok := ignore.excludes(must); !ok {
			t.Errorf(".dockerignore does not exclude %s", must)
		}
	}
}

// TestEnvExample: deploy/.env.example documents every variable the compose
// files interpolate and every one api/config reads, and copied to .env as is
// it changes nothing.
func TestEnvExample(t *testing.T) {
	root := repoRoot(t)
	example, err := os.ReadFile(filepath.Join(root, "deploy", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	var env []string
	for _, line := range strings.Split(string(example), "\n") {
		line = strings.TrimSpace(line)
		if m := regexp.MustCompile(`^#?\s*([A-Z][A-Z0-9_]*)=`).FindStringSubmatch(line); m != nil {
			documented[m[1]] = true
			if !strings.HasPrefix(line, "#") {
				env = append(env, line)
			}
		}
	}
	want := map[string]string{}
	for _, f := range []string{"docker-compose.yml", "deploy/compose.multi-host.yml", "deploy/compose.worker-host.yml"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)`).FindAllStringSubmatch(string(b), -1) {
			want[m[1]] = f
		}
	}
	cfg, err := os.ReadFile(filepath.Join(root, "api", "config", "config.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`p\.\w+\("([A-Z][A-Z0-9_]*)"`).FindAllStringSubmatch(string(cfg), -1) {
		want[m[1]] = "api/config/config.go"
	}
	if len(want) < 20 {
		t.Fatalf("found only %d variables; did the config or compose files change shape?", len(want))
	}
	for name, where := range want {
		if !documented[name] {
			t.Errorf("%s (used in %s) is not in deploy/.env.example", name, where)
		}
	}

	p := loadProject(t, env...)
	if got := frontendPort(t, p); got != "8080" {
		t.Errorf("with .env.example: frontend on %q", got)
	}
	if got, want := envValue(t, service(t, p, "api"), "DATABASE_URL"), "postgres://baton:baton@db:5432/baton?sslmode=disable"; got != want {
		t.Errorf("with .env.example: DATABASE_URL = %q, want %q", got, want)
	}
}

// --- more hosts: deploy/compose.multi-host.yml and compose.worker-host.yml ---

var nfsEnv = []string{"BATON_UPLOADS_NFS_ADDR=nfs.example", "BATON_UPLOADS_NFS_PATH=/exports/baton/uploads"}

func loadFiles(t *testing.T, workdir string, files []string, env []string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	for i, f := range files {
		files[i] = filepath.Join(root, f)
	}
	opts, err := cli.NewProjectOptions(files, cli.WithWorkingDirectory(filepath.Join(root, workdir)), cli.WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func checkNFS(t *testing.T, p *types.Project) {
	t.Helper()
	v, ok := p.Volumes["uploads"]
	if !ok {
		t.Fatal("no uploads volume")
	}
	if v.DriverOpts["type"] != "nfs" || !strings.Contains(v.DriverOpts["o"], "addr=nfs.example") ||
		v.DriverOpts["device"] != ":/exports/baton/uploads" {
		t.Errorf("uploads volume is not the NFS export: %+v", v.DriverOpts)
	}
}

func TestComposeMultiHostOverride(t *testing.T) {
	files := []string{"docker-compose.yml", "deploy/compose.multi-host.yml"}
	if _, err := loadFiles(t, ".", slices.Clone(files), nil); err == nil || !strings.Contains(err.Error(), "BATON_UPLOADS_NFS_ADDR") {
		t.Errorf("without the NFS settings the override must refuse to load, got %v", err)
	}
	p, err := loadFiles(t, ".", slices.Clone(files), nfsEnv)
	if err != nil {
		t.Fatal(err)
	}
	checkNFS(t, p)
	db := service(t, p, "db")
	if len(db.Ports) != 1 || db.Ports[0].Target != 5432 || db.Ports[0].Published != "5432" {
		t.Errorf("db ports = %+v, want 5432 published", db.Ports)
	}
	// The rest of the topology is untouched.
	if target, ok := mount(service(t, p, "api"), "uploads"); !ok || target != "/var/lib/baton/uploads" {
		t.Errorf("api uploads mount = %q", target)
	}
	if w := service(t, p, "worker"); len(w.Ports) > 0 || w.ContainerName != "" {
		t.Error("the override must keep the worker scalable")
	}
}

func TestComposeWorkerHost(t *testing.T) {
	files := []string{"deploy/compose.worker-host.yml"}
	env := append([]string{
		"DATABASE_URL=postgres://baton:pw@main:5432/baton?sslmode=disable",
		"BATON_API_URL=http://main:8080",
	}, nfsEnv...)
	for _, missing := range []string{"DATABASE_URL", "BATON_API_URL"} {
		partial := slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, missing+"=") })
		if _, err := loadFiles(t, "deploy", slices.Clone(files), partial); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s the worker host file must refuse to load, got %v", missing, err)
		}
	}
	p, err := loadFiles(t, "deploy", slices.Clone(files), env)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.ServiceNames(); !slices.Equal(got, []string{"worker"}) {
		t.Fatalf("services = %v, want only worker", got)
	}
	w := service(t, p, "worker")
	mainWorker := service(t, loadProject(t), "worker")
	if w.Image != mainWorker.Image || !slices.Equal(w.Command, mainWorker.Command) {
		t.Errorf("remote worker runs %s %v, main worker %s %v", w.Image, w.Command, mainWorker.Image, mainWorker.Command)
	}
	if w.Build == nil || filepath.Join(w.Build.Context, w.Build.Dockerfile) != filepath.Join(repoRoot(t), "deploy", "Dockerfile") {
		t.Errorf("remote worker builds %+v, want the repository's deploy/Dockerfile", w.Build)
	}
	wantTarget, _ := mount(mainWorker, "uploads")
	if target, ok := mount(w, "uploads"); !ok || target != wantTarget {
		t.Errorf("remote worker mounts uploads at %q, want %q", target, wantTarget)
	}
	if len(w.Ports) > 0 || w.ContainerName != "" || w.Hostname != "" {
		t.Error("remote worker must stay scalable: no ports, container_name or hostname")
	}
	if got := envValue(t, w, "BATON_API_URL"); got != "http://main:8080" {
		t.Errorf("BATON_API_URL = %q", got)
	}
	checkNFS(t, p)
}

// --- a small Dockerfile reader: enough for the files in this directory ---

type stage struct {
	name, from     string
	workdir, user  string
	env            map[string]string
	runLines       []string
	copies         map[string]string // context source -> absolute destination
	contextSources []string
	copyFrom       []string
}

func (s *stage) runs(substr string) bool {
	return slices.ContainsFunc(s.runLines, func(l string) bool { return strings.Contains(l, substr) })
}

func (s *stage) installs(pkg string) bool {
	for _, l := range s.runLines {
		_, after, ok := strings.Cut(l, "apt-get install")
		if ok && slices.Contains(strings.Fields(after), pkg) {
			return true
		}
	}
	return false
}

func (s *stage) hasCopyFrom(name string) bool { return slices.Contains(s.copyFrom, name) }

type dockerfile struct{ stages []*stage }

func (d *dockerfile) final() *stage { return d.stages[len(d.stages)-1] }

func readDockerfile(t *testing.T, rel string) *dockerfile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines; drop comments and blank lines.
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	d := &dockerfile{}
	args := map[string]string{}
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		instr = strings.ToUpper(instr)
		if instr == "ARG" && len(d.stages) == 0 {
			k, v, _ := strings.Cut(rest, "=")
			args[k] = v
			continue
		}
		if instr == "FROM" {
			f := strings.Fields(rest)
			s := &stage{from: os.Expand(f[0], func(k string) string { return args[k] }), workdir: "/", env: map[string]string{}, copies: map[string]string{}}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			d.stages = append(d.stages, s)
			continue
		}
		if len(d.stages) == 0 {
			t.Fatalf("%s: %s before FROM", rel, instr)
		}
		s := d.final()
		switch instr {
		case "RUN":
			s.runLines = append(s.runLines, rest)
		case "USER":
			s.user = rest
		case "WORKDIR":
			if path.IsAbs(rest) {
				s.workdir = rest
			} else {
				s.workdir = path.Join(s.workdir, rest)
			}
		case "ENV":
			// Only the KEY=VALUE form, values without spaces.
			for _, kv := range strings.Fields(rest) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					s.env[k] = strings.Trim(v, `"`)
				} else {
					t.Fatalf("%s: use ENV KEY=VALUE, not %q", rel, l)
				}
			}
		case "COPY", "ADD":
			f := strings.Fields(rest)
			var from string
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				if v, ok := strings.CutPrefix(f[0], "--from="); ok {
					from = v
				}
				f = f[1:]
			}
			if len(f) < 2 {
				t.Fatalf("%s: cannot read %q", rel, l)
			}
			dst := f[len(f)-1]
			if !path.IsAbs(dst) {
				dst = path.Join(s.workdir, dst)
			}
			for _, src := range f[:len(f)-1] {
				if from != "" {
					s.copyFrom = append(s.copyFrom, from)
					continue
				}
				src = path.Clean(src)
				s.copies[src] = dst
				s.contextSources = append(s.contextSources, src)
			}
		}
	}
	if len(d.stages) == 0 {
		t.Fatalf("%s has no FROM", rel)
	}
	return d
}

// --- .dockerignore, with Docker's common pattern forms (*, ?, **) ---

type dockerignore []struct {
	pattern string
	re      *regexp.Regexp
}

func readDockerignore(t *testing.T, file string) dockerignore {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var di dockerignore
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf(".dockerignore: exceptions (%s) are not understood by this test; extend it", l)
		}
		p := strings.TrimPrefix(path.Clean(l), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case p[i] == '*':
				re.WriteString("[^/]*")
			case p[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		re.WriteString("$")
		di = append(di, struct {
			pattern string
			re      *regexp.Regexp
		}{l, regexp.MustCompile(re.String())})
	}
	return di
}

// excludes reports whether rel or a directory above it is ignored.
func (di dockerignore) excludes(rel string) (string, bool) {
	rel = path.Clean(rel)
	for p := rel; p != "." && p != "/"; p = path.Dir(p) {
		for _, e := range di {
			if e.re.MatchString(p) {
				return e.pattern, true
			}
		}
	}
	return "", false
}
