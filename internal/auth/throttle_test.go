package auth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoff(t *testing.T) {
	o := Options{}
	o.defaults()
	var got []time.Duration
	for f := 0; f <= 10; f++ {
		got = append(got, o.backoff(f))
	}
	s := time.Second
	require.Equal(t, []time.Duration{0, 0, 0, s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s, 30 * s}, got)
	require.Equal(t, 30*s, o.backoff(1<<20), "no overflow")
}

func TestIPLimiter(t *testing.T) {
	now := time.Date(2026, 1, 5, 8, 30, 0, 0, time.UTC)
	l := newIPLimiter(3, time.Minute, 2)
	for i := 0; i < 100; i++ { // successes are not counted
		ok, _ := l.begin("a", now)
		require.True(t, ok)
		l.end("a", now, false)
	}
	for i := 0; i < 3; i++ {
		ok, _ := l.begin("a", now.Add(time.Duration(i)*time.Second))
		require.True(t, ok)
		l.end("a", now.Add(time.Duration(i)*time.Second), true)
	}
	ok, wait := l.begin("a", now.Add(10*time.Second))
	require.False(t, ok)
	require.Equal(t, 50*time.Second, wait, "until the window that began with the first failure ends")
	ok, _ = l.begin("b", now)
	require.True(t, ok, "other addresses go on")
	ok, _ = l.begin("b", now)
	require.True(t, ok)
	ok, _ = l.begin("b", now)
	require.False(t, ok, "at most 2 attempts at once")
	ok, _ = l.begin("a", now.Add(time.Minute))
	require.True(t, ok, "a new window")
}

func TestAddressKey(t *testing.T) {
	require.Equal(t, "192.0.2.1", AddressKey("192.0.2.1"))
	require.Equal(t, "2001:db8:1:2::/64", AddressKey("2001:db8:1:2:aaaa::1"))
	require.Equal(t, AddressKey("2001:db8:1:2::5"), AddressKey("2001:db8:1:2:ffff:ffff:ffff:ffff"))
	require.Equal(t, "192.0.2.1", AddressKey("::ffff:192.0.2.1"))
	require.Equal(t, "not-an-ip", AddressKey("not-an-ip"))
}
