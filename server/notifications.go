package server

import "time"

// notify records an e-mail in the outbox.
func (s *Server) notify(tx Tx, now time.Time, acc Account, kind, subject, body string) error {
	_, err := tx.AddNotification(Notification{UserID: acc.UserID, Recipient: acc.Email, Kind: kind, Subject: subject, Body: body, CreatedAt: now})
	return err
}
