package cms

import "testing"

// TestContentTypeOIDs pins the exported content types to their RFC values
// and checks that a caller cannot change the package's own copy.
func TestContentTypeOIDs(t *testing.T) {
	for _, tt := range []struct {
		got  func() string
		want string
	}{
		{func() string { return EnvelopedDataOID().String() }, "1.2.840.113549.1.7.3"},
		{func() string { return AuthEnvelopedDataOID().String() }, "1.2.840.113549.1.9.16.1.23"},
		{func() string { return DataOID().String() }, "1.2.840.113549.1.7.1"},
	} {
		if got := tt.got(); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
	EnvelopedDataOID()[0] = 9
	if oidEnvelopedData[0] != 1 {
		t.Fatal("the exported OID aliases the package's")
	}
}
