package media

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHEVCCodecs(t *testing.T) {
	s, err := HEVCCodecs("Main", 93)
	require.NoError(t, err)
	assert.Equal(t, "hvc1.1.6.L93.B0", s)
	s, err = HEVCCodecs("Main 10", 120)
	require.NoError(t, err)
	assert.Equal(t, "hvc1.2.4.L120.B0", s)
	_, err = HEVCCodecs("Rext", 93)
	assert.Error(t, err)
}
