package nfs

import (
	"regexp"
	"strings"

	"github.com/docker/docker/api/types/mount"
)

// Hidden replaces a secret in a scrubbed message.
const Hidden = "[hidden]"

var (
	// mountData is the mount data Docker's local volume driver quotes when a
	// mount fails: "mount DEVICE:TARGET, data: OPTIONS: CAUSE". Everything
	// from "data: " to the last ": " of the line goes, so a password with
	// spaces or colons in it goes too; the cause (the errno text) stays.
	mountData = regexp.MustCompile(`(?m)\bdata: .*: `)
	// secretValue is the value of a password-like key, in mount options
	// ("password=p,,w" is "p,w" escaped), a URL query or a credentials file.
	secretValue = regexp.MustCompile(`(?i)\b([\w.-]*(?:password|passwd|pass|pwd|secret|token|credentials|cred))=("[^"]*"|'[^']*'|(?:,,|[^,\s"'&])*)`)
)

// Scrub hides secrets in msg before it reaches a job record, the API, a log
// or a terminal: the mount data of a failed volume mount (Docker 20.10 puts
// a CIFS volume's options, password included, into the task's error), the
// value of any key shaped like password=, pass=, secret=, token= or
// credentials=, and every literal secret given (as written and as escaped
// in mount options). Scrub is pure.
func Scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if esc := strings.ReplaceAll(s, ",", ",,"); esc != s {
			msg = strings.ReplaceAll(msg, esc, Hidden)
		}
		msg = strings.ReplaceAll(msg, s, Hidden)
	}
	msg = mountData.ReplaceAllString(msg, "data: "+Hidden+": ")
	return secretValue.ReplaceAllString(msg, "$1="+Hidden)
}

// MountSecrets returns the secrets in mounts' volume options (the CIFS
// password), for Scrub.
func MountSecrets(mounts []mount.Mount) []string {
	var out []string
	for _, m := range mounts {
		if m.VolumeOptions == nil || m.VolumeOptions.DriverConfig == nil {
			continue
		}
		for _, opt := range splitMountOptions(m.VolumeOptions.DriverConfig.Options["o"]) {
			key, value, ok := strings.Cut(opt, "=")
			if ok && value != "" && credentialKeys[strings.ToLower(key)] == "password" {
				out = append(out, value)
			}
		}
	}
	return out
}

// splitMountOptions splits "a=1,password=x,,y" at single commas and undoes
// the doubling of commas inside values.
func splitMountOptions(o string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(o); i++ {
		if o[i] != ',' {
			cur.WriteByte(o[i])
			continue
		}
		if i+1 < len(o) && o[i+1] == ',' {
			cur.WriteByte(',')
			i++
			continue
		}
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
