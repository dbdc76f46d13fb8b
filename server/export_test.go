package server

// SetPasswordFuncs replaces the password hash functions for a test and
// returns what puts them back. Not for parallel tests.
func SetPasswordFuncs(compare func(hash, password []byte) error, hash func(password []byte, cost int) ([]byte, error)) (restore func()) {
	oldCompare, oldHash := comparePassword, hashPassword
	comparePassword, hashPassword = compare, hash
	return func() { comparePassword, hashPassword = oldCompare, oldHash }
}

// PasswordSlots is how many password hashes may be compared or made at once.
func PasswordSlots() int { return cap(bcryptSlots) }

// PendingChallenges is how many next-code challenges are open.
func (s *Server) PendingChallenges() int {
	s.challenges.mu.Lock()
	defer s.challenges.mu.Unlock()
	return len(s.challenges.byID)
}
