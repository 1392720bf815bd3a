package events

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrURLRefused is an endpoint URL refused by the URL policy.
var ErrURLRefused = errors.New("endpoint URL refused")

// URLPolicy guards against server-side request forgery: an endpoint is
// an https URL (http only outside production) whose host is not a
// loopback, link-local, private, unspecified or multicast address, unless
// AllowPrivate (ORDERDESK_EVENTS_ALLOW_PRIVATE). The check runs when an
// endpoint is created and again on every connection, on the address
// actually dialled, so a name that resolves elsewhere later (DNS
// rebinding) is refused too.
type URLPolicy struct {
	AllowHTTP    bool
	AllowPrivate bool
	// Resolver looks names up at creation (nil: net.DefaultResolver).
	Resolver *net.Resolver
}

// Check validates an endpoint URL. A name that does not resolve now is
// accepted: the dial-time check still applies.
func (p URLPolicy) Check(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: %q is not an absolute URL", ErrURLRefused, raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowHTTP:
	case u.Scheme == "http":
		return nil, fmt.Errorf("%w: https is required in production", ErrURLRefused)
	default:
		return nil, fmt.Errorf("%w: the scheme must be https", ErrURLRefused)
	}
	if u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("%w: no user information or fragment allowed", ErrURLRefused)
	}
	if len(raw) > 2048 {
		return nil, fmt.Errorf("%w: longer than 2048 characters", ErrURLRefused)
	}
	if p.AllowPrivate {
		return u, nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return nil, fmt.Errorf("%w: %s is a loopback address", ErrURLRefused, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := p.checkIP(ip); err != nil {
			return nil, err
		}
		return u, nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(lctx, "ip", host)
	if err != nil {
		// Unresolvable now: the dial-time check decides.
		return u, nil
	}
	for _, a := range addrs {
		if err := p.checkIP(a); err != nil {
			return nil, fmt.Errorf("%s resolves to %s: %w", host, a, err)
		}
	}
	return u, nil
}

func (p URLPolicy) checkIP(ip netip.Addr) error {
	if p.AllowPrivate {
		return nil
	}
	ip = ip.Unmap()
	if v4, ok := embeddedV4(ip); ok {
		// A NAT64 or 6to4 gateway on the path forwards to the IPv4
		// address inside: that address decides.
		if err := p.checkIP(v4); err != nil {
			return fmt.Errorf("%s carries %s: %w", ip, v4, err)
		}
		return nil
	}
	var kind string
	switch {
	case ip.IsLoopback():
		kind = "loopback"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		kind = "link-local"
	case ip.IsPrivate(), isSharedOrULA(ip):
		kind = "private"
	case ip.IsUnspecified():
		kind = "unspecified"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		kind = "multicast"
	case isReservedV4(ip):
		kind = "reserved"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s is a %s address (set ORDERDESK_EVENTS_ALLOW_PRIVATE=true to allow it)", ErrURLRefused, ip, kind)
}

// shared is 100.64.0.0/10 (carrier-grade NAT); IsPrivate covers the rest
// of RFC 1918 and fc00::/7.
var shared = netip.MustParsePrefix("100.64.0.0/10")

func isSharedOrULA(ip netip.Addr) bool { return shared.Contains(ip) }

// reservedV4 are IPv4 ranges no public endpoint lives in: "this network"
// (0/8), IETF protocol assignments (192.0.0.0/24), benchmarking
// (198.18.0.0/15), and the reserved 240/4 with the broadcast address.
var reservedV4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("240.0.0.0/4"),
}

func isReservedV4(ip netip.Addr) bool {
	for _, p := range reservedV4 {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// NAT64 (RFC 6052 well-known prefix) and 6to4 (RFC 3056) addresses carry
// an IPv4 address.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

func embeddedV4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// control is the dialer's Control: it refuses a connection to an address
// the policy forbids, after name resolution.
func (p URLPolicy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: dialling %q", ErrURLRefused, address)
	}
	return p.checkIP(ap.Addr())
}

// Client is the HTTP client deliveries use: the policy checked on every
// dialled address, redirects not followed (the 3xx is the answer, and
// counts as a failure), each attempt bounded by timeout.
func (p URLPolicy) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.control}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, past the check
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          200,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
