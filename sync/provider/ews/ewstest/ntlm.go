package ewstest

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"math/bits"
	"strings"
	"time"
	"unicode/utf16"
)

// The server side of NTLM (MS-NLMP), enough to check an NTLMv2 response
// against a known password: parse NEGOTIATE (type 1), answer a CHALLENGE
// (type 2) with a random server challenge and target info, parse
// AUTHENTICATE (type 3) and recompute its NTProofStr.

var ntlmSignature = []byte("NTLMSSP\x00")

// Negotiate flags (MS-NLMP 2.2.2.5) the emulator's challenge carries. No
// LM_KEY and no KEY_EXCH: go-ntlmssp refuses those.
const (
	flagUnicode       = 0x00000001
	flagRequestTarget = 0x00000004
	flagNTLM          = 0x00000200
	flagAlwaysSign    = 0x00008000
	flagTargetDomain  = 0x00010000
	flagExtendedSec   = 0x00080000
	flagTargetInfo    = 0x00800000
	flag128           = 0x20000000
	flag56            = 0x80000000
)

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return b
}

func fromUTF16le(b []byte) string {
	if len(b)%2 != 0 {
		b = b[:len(b)-1]
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// ntlmMessageType returns 1, 2 or 3, or 0 when b is not an NTLM message.
func ntlmMessageType(b []byte) uint32 {
	if len(b) < 12 || !bytes.Equal(b[:8], ntlmSignature) {
		return 0
	}
	return binary.LittleEndian.Uint32(b[8:12])
}

// challengeMessage builds a CHALLENGE message for serverChallenge.
func challengeMessage(serverChallenge [8]byte, domain, computer string, now time.Time) []byte {
	target := utf16le(domain)
	var info bytes.Buffer
	av := func(id uint16, v []byte) {
		binary.Write(&info, binary.LittleEndian, id)
		binary.Write(&info, binary.LittleEndian, uint16(len(v)))
		info.Write(v)
	}
	av(2, utf16le(domain))
	av(1, utf16le(computer))
	av(4, utf16le(strings.ToLower(domain)+".test"))
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, uint64(now.UnixNano()/100)+116444736000000000)
	av(7, ts)
	av(0, nil)

	const header = 48
	var b bytes.Buffer
	b.Write(ntlmSignature)
	binary.Write(&b, binary.LittleEndian, uint32(2))
	// TargetNameFields
	binary.Write(&b, binary.LittleEndian, uint16(len(target)))
	binary.Write(&b, binary.LittleEndian, uint16(len(target)))
	binary.Write(&b, binary.LittleEndian, uint32(header))
	flags := uint32(flagUnicode | flagRequestTarget | flagNTLM | flagAlwaysSign | flagTargetDomain | flagExtendedSec | flagTargetInfo | flag128 | flag56)
	binary.Write(&b, binary.LittleEndian, flags)
	b.Write(serverChallenge[:])
	b.Write(make([]byte, 8)) // reserved
	// TargetInfoFields
	binary.Write(&b, binary.LittleEndian, uint16(info.Len()))
	binary.Write(&b, binary.LittleEndian, uint16(info.Len()))
	binary.Write(&b, binary.LittleEndian, uint32(header+len(target)))
	b.Write(target)
	b.Write(info.Bytes())
	return b.Bytes()
}

// authenticateMessage is the part of a type 3 message the server checks.
type authenticateMessage struct {
	NtResponse  []byte
	Domain      string
	User        string
	Workstation string
}

var errBadNTLM = errors.New("malformed NTLM AUTHENTICATE message")

func parseAuthenticate(b []byte) (authenticateMessage, error) {
	var m authenticateMessage
	if ntlmMessageType(b) != 3 || len(b) < 64 {
		return m, errBadNTLM
	}
	field := func(off int) ([]byte, error) {
		l := int(binary.LittleEndian.Uint16(b[off:]))
		o := int(binary.LittleEndian.Uint32(b[off+4:]))
		if o < 0 || l < 0 || o+l > len(b) || o+l < o {
			return nil, errBadNTLM
		}
		return b[o : o+l], nil
	}
	nt, err := field(20)
	if err != nil {
		return m, err
	}
	dom, err := field(28)
	if err != nil {
		return m, err
	}
	user, err := field(36)
	if err != nil {
		return m, err
	}
	ws, err := field(44)
	if err != nil {
		return m, err
	}
	m.NtResponse = append([]byte(nil), nt...)
	m.Domain, m.User, m.Workstation = fromUTF16le(dom), fromUTF16le(user), fromUTF16le(ws)
	return m, nil
}

// verifyNTLMv2 recomputes NTProofStr (MS-NLMP 3.3.2):
//
//	NTOWFv2      = HMAC_MD5(MD4(UNICODE(password)), UNICODE(Uppercase(user) + domain))
//	NTProofStr   = HMAC_MD5(NTOWFv2, ServerChallenge + temp)
//	NtResponse   = NTProofStr + temp
func verifyNTLMv2(m authenticateMessage, password string, serverChallenge [8]byte) bool {
	if len(m.NtResponse) < 16+28 {
		return false // an NTLMv1 response (24 bytes) or garbage
	}
	ntHash := md4Sum(utf16le(password))
	key := hmacMD5(ntHash[:], utf16le(strings.ToUpper(m.User)+m.Domain))
	proof := hmacMD5(key, serverChallenge[:], m.NtResponse[16:])
	return hmac.Equal(proof, m.NtResponse[:16])
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil)
}

// md4Rounds are MD4's three rounds: the function, the order the message
// words are taken in, the shifts and the constant added.
var md4Rounds = [3]struct {
	f     func(x, y, z uint32) uint32
	order [16]int
	shift [4]int
	add   uint32
}{
	{func(x, y, z uint32) uint32 { return x&y | ^x&z },
		[16]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, [4]int{3, 7, 11, 19}, 0},
	{func(x, y, z uint32) uint32 { return x&y | x&z | y&z },
		[16]int{0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15}, [4]int{3, 5, 9, 13}, 0x5a827999},
	{func(x, y, z uint32) uint32 { return x ^ y ^ z },
		[16]int{0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15}, [4]int{3, 9, 11, 15}, 0x6ed9eba1},
}

// md4Sum is MD4 (RFC 1320), which NTLM's password hash needs and the
// standard library does not have.
func md4Sum(msg []byte) [16]byte {
	a, b, c, d := uint32(0x67452301), uint32(0xefcdab89), uint32(0x98badcfe), uint32(0x10325476)
	n := len(msg)
	padded := append([]byte(nil), msg...)
	padded = append(padded, 0x80)
	for len(padded)%64 != 56 {
		padded = append(padded, 0)
	}
	var lenBits [8]byte
	binary.LittleEndian.PutUint64(lenBits[:], uint64(n)*8)
	padded = append(padded, lenBits[:]...)
	var x [16]uint32
	for off := 0; off < len(padded); off += 64 {
		for i := range x {
			x[i] = binary.LittleEndian.Uint32(padded[off+4*i:])
		}
		aa, bb, cc, dd := a, b, c, d
		for _, r := range md4Rounds {
			for i, k := range r.order {
				// Each step updates a, d, c, b in turn from the other three.
				v := x[k] + r.add
				switch i % 4 {
				case 0:
					a = bits.RotateLeft32(a+r.f(b, c, d)+v, r.shift[0])
				case 1:
					d = bits.RotateLeft32(d+r.f(a, b, c)+v, r.shift[1])
				case 2:
					c = bits.RotateLeft32(c+r.f(d, a, b)+v, r.shift[2])
				case 3:
					b = bits.RotateLeft32(b+r.f(c, d, a)+v, r.shift[3])
				}
			}
		}
		a, b, c, d = a+aa, b+bb, c+cc, d+dd
	}
	var out [16]byte
	binary.LittleEndian.PutUint32(out[0:], a)
	binary.LittleEndian.PutUint32(out[4:], b)
	binary.LittleEndian.PutUint32(out[8:], c)
	binary.LittleEndian.PutUint32(out[12:], d)
	return out
}
