package radius

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// MinSecretLen is the shortest shared secret a clients file may hold.
const MinSecretLen = 16

// Client is a RADIUS client (a NAS): the addresses it sends from and the
// secret it shares with the server.
type Client struct {
	Net    netip.Prefix
	Secret []byte
}

// ParseClients reads a clients file: one client per line, "ADDRESS-OR-CIDR
// SECRET"; "#" starts a comment and blank lines are skipped. A malformed
// line or a secret shorter than MinSecretLen is an error that names the
// line (by number, never quoting the secret).
func ParseClients(r io.Reader) ([]Client, error) {
	var cs []Client
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("clients file line %d: want ADDRESS-OR-CIDR SECRET, got %d fields", n, len(f))
		}
		pfx, err := parsePrefix(f[0])
		if err != nil {
			return nil, fmt.Errorf("clients file line %d: %q is neither an IP address nor a CIDR prefix", n, f[0])
		}
		if len(f[1]) < MinSecretLen {
			return nil, fmt.Errorf("clients file line %d: the secret is %d characters, at least %d are required", n, len(f[1]), MinSecretLen)
		}
		cs = append(cs, Client{Net: pfx, Secret: []byte(f[1])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("clients file line %d: %w", n+1, err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("clients file: no client")
	}
	return cs, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("zone")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("zone")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseClientsBytes is ParseClients over a byte slice.
func ParseClientsBytes(b []byte) ([]Client, error) { return ParseClients(bytes.NewReader(b)) }

// lookup is the client that addr belongs to: the longest prefix that holds
// it.
func lookup(cs []Client, addr netip.Addr) (Client, bool) {
	addr = addr.Unmap()
	best, ok := Client{}, false
	for _, c := range cs {
		if c.Net.Contains(addr) && (!ok || c.Net.Bits() > best.Net.Bits()) {
			best, ok = c, true
		}
	}
	return best, ok
}
