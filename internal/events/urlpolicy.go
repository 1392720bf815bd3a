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
	default:
		return nil
	}
	return fmt.Errorf("%w: %s is a %s address (set ORDERDESK_EVENTS_ALLOW_PRIVATE=true to allow it)", ErrURLRefused, ip, kind)
}

// shared is 100.64.0.0/10 (carrier-grade NAT); IsPrivate covers the rest
// of RFC 1918 and fc00::/7.
var shared = netip.MustParsePrefix("100.64.0.0/10")

func isSharedOrULA(ip netip.Addr) bool { return shared.Contains(ip) }

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
