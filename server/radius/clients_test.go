package radius

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseClients(t *testing.T) {
	cs, err := ParseClientsBytes([]byte(`# the VPN concentrators
10.0.0.0/8      ten-secret-0123456789   # all of them
10.1.2.3        one-secret-0123456789
::1             v6-secret-012345678901

`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 {
		t.Fatalf("%d clients", len(cs))
	}
	for _, c := range []struct{ addr, secret string }{
		{"10.9.9.9", "ten-secret-0123456789"},
		{"10.1.2.3", "one-secret-0123456789"}, // the longest prefix
		{"::ffff:10.1.2.3", "one-secret-0123456789"},
		{"::1", "v6-secret-012345678901"},
	} {
		cl, ok := lookup(cs, netip.MustParseAddr(c.addr))
		if !ok || string(cl.Secret) != c.secret {
			t.Errorf("%s: %q %v", c.addr, cl.Secret, ok)
		}
	}
	if _, ok := lookup(cs, netip.MustParseAddr("127.0.0.1")); ok {
		t.Error("127.0.0.1 is no client")
	}
}

func TestParseClientsRefusesNamingTheLine(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"# nothing\n", "no client"},
		{"10.0.0.1 a-long-enough-secret\n10.0.0.2\n", "line 2"},
		{"\n\n10.0.0.1 short\n", "line 3: the secret is 5 characters, at least 16"},
		{"10.0.0.300 a-long-enough-secret\n", "line 1: \"10.0.0.300\" is neither"},
		{"10.0.0.0/33 a-long-enough-secret\n", "line 1"},
		{"host.example a-long-enough-secret\n", "line 1"},
		{"10.0.0.1 a-long-enough-secret extra\n", "line 1: want ADDRESS-OR-CIDR SECRET, got 3 fields"},
		{"fe80::1%eth0 a-long-enough-secret\n", "line 1"},
	} {
		_, err := ParseClientsBytes([]byte(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.file, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "short") {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
}

func FuzzParseClients(f *testing.F) {
	f.Add([]byte("10.0.0.0/8 ten-secret-0123456789 # c\n::1 v6-secret-012345678901\n"))
	f.Add([]byte("# only\n\n"))
	f.Add([]byte("1.2.3.4 short\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ParseClientsBytes(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "clients file") {
				t.Fatalf("error without the file's name: %v", err)
			}
			return
		}
		for _, c := range cs {
			if len(c.Secret) < MinSecretLen || !c.Net.IsValid() || strings.ContainsAny(string(c.Secret), " \t#\n") {
				t.Fatalf("accepted %+v", c)
			}
			if _, ok := lookup(cs, c.Net.Addr()); !ok {
				t.Fatalf("a client's own address is not a client: %+v", c)
			}
		}
	})
}
