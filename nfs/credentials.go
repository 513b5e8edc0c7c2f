package nfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Credentials log in to a CIFS share. They are read from a file, never taken
// from the command line, where any user of the machine could see them.
type Credentials struct {
	Username string
	Password string
	Domain   string
}

// String names the user and hides the password, so credentials printed by
// mistake do not leak it.
func (c Credentials) String() string {
	user := c.Username
	if c.Domain != "" {
		user = c.Domain + `\` + user
	}
	if c.Password == "" {
		return user + " (no password)"
	}
	return user + " (password hidden)"
}

// GoString hides the password from %#v as well.
func (c Credentials) GoString() string { return "nfs.Credentials{" + c.String() + "}" }

func (c Credentials) validate() error {
	switch {
	case c.Username == "":
		return errors.New("no username")
	case strings.ContainsAny(c.Username, ",\n\x00"):
		return errors.New("username contains a comma or control character")
	case strings.ContainsAny(c.Domain, ",\n\x00"):
		return errors.New("domain contains a comma or control character")
	case strings.ContainsAny(c.Password, "\n\x00"):
		return errors.New("password contains a control character")
	}
	return nil
}

// credentialKeys maps the keys mount.cifs accepts in a credentials file.
var credentialKeys = map[string]string{
	"username": "username", "user": "username",
	"password": "password", "pass": "password",
	"domain": "domain", "dom": "domain", "workgroup": "domain",
}

// ParseCredentials reads the mount.cifs credentials format: key=value lines
// with the keys username, password and domain; blank lines and lines
// starting with # are skipped. A value is taken as written up to the end of
// its line, spaces included, as mount.cifs does.
func ParseCredentials(data []byte) (Credentials, error) {
	var c Credentials
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimLeft(line, " \t"), "=")
		if !ok {
			return Credentials{}, fmt.Errorf("line %d: want key=value", n)
		}
		switch credentialKeys[strings.ToLower(strings.TrimSpace(key))] {
		case "username":
			c.Username = value
		case "password":
			c.Password = value
		case "domain":
			c.Domain = value
		default:
			return Credentials{}, fmt.Errorf("line %d: unknown key %q (want username, password or domain)", n, strings.TrimSpace(key))
		}
	}
	if err := sc.Err(); err != nil {
		return Credentials{}, err
	}
	if c.Username == "" {
		return Credentials{}, errors.New("no username= line")
	}
	return c, nil
}

// ReadCredentials reads and parses a credentials file.
func ReadCredentials(file string) (Credentials, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Credentials{}, fmt.Errorf("cifs credentials: %w", err)
	}
	c, err := ParseCredentials(data)
	if err != nil {
		return Credentials{}, fmt.Errorf("cifs credentials %s: %w", file, err)
	}
	return c, nil
}

// LoadCredentials reads the credentials that c's mount needs: those of the
// CIFS credentials file in cifs mode without the guest option, none
// otherwise.
func (c Config) LoadCredentials() (Credentials, error) {
	c = c.WithDefaults()
	if c.Mode != ModeCIFS || c.CIFS.guest() {
		return Credentials{}, nil
	}
	if c.CIFS.CredentialsFile == "" {
		return Credentials{}, errors.New("cifs credentials: no credentials file given")
	}
	return ReadCredentials(c.CIFS.CredentialsFile)
}
