package runner

import (
	"errors"
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
)

// DefaultRunUser is the account a root worker runs tests as, created on
// first use if missing: a system account of its own, with no home and no
// shell, so tests own nothing on the host beyond their run's workspace.
// ("nobody" is not used: other services run things as nobody too.)
const DefaultRunUser = "baton-run"

// User is who a run's processes run as.
type User struct {
	Name     string
	UID, GID uint32
}

// LookupUser finds an account by name.
func LookupUser(name string) (*User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user %s: %w", name, err)
	}
	return &User{Name: name, UID: uint32(uid), GID: uint32(gid)}, nil
}

// EnsureUser returns the account name, creating it as a system account
// (useradd --system) when it does not exist; created says it did. Several
// workers starting at once may race to create it; the loser finds it.
func EnsureUser(name string) (u *User, created bool, err error) {
	if u, err = LookupUser(name); err == nil {
		return u, false, nil
	}
	var unknown user.UnknownUserError
	if !errors.As(err, &unknown) {
		return nil, false, err
	}
	out, cerr := exec.Command("useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
		"--comment", "Baton test runs", name).CombinedOutput()
	if u, err = LookupUser(name); err == nil {
		return u, cerr == nil, nil
	}
	if cerr != nil {
		return nil, false, fmt.Errorf("create user %s: %w: %s", name, cerr, strings.TrimSpace(string(out)))
	}
	return nil, false, err
}
