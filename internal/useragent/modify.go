package useragent

import (
	"context"
	"errors"

	"posthorn/internal/useragent/imapclient"
)

// Move moves a message to another folder: UID MOVE (RFC 6851), or COPY,
// \Deleted and UID EXPUNGE on servers without it.
func (a *Agent) Move(ctx context.Context, folder string, uid uint32, dest string) error {
	folder = folderOr(folder)
	if sameMailbox(folder, dest) {
		return errors.New("the message is already in " + dest)
	}
	return a.session(ctx, func(c *imapclient.Client) error {
		if _, err := c.Select(ctx, folder, false); err != nil {
			return err
		}
		if err := requireMessage(ctx, c, folder, uid); err != nil {
			return err
		}
		return c.UIDMove(ctx, []uint32{uid}, dest)
	})
}

// Delete moves a message to the Trash (the \Trash mailbox of RFC 6154, or
// one named "Trash"). In the Trash itself, or when there is none, it marks
// the message \Deleted and expunges it, which removes it for good. It
// returns the folder the message went to, "" when it was removed.
func (a *Agent) Delete(ctx context.Context, folder string, uid uint32) (string, error) {
	folder = folderOr(folder)
	var movedTo string
	err := a.session(ctx, func(c *imapclient.Client) error {
		boxes, err := c.List(ctx)
		if err != nil {
			return err
		}
		trash := findSpecial(boxes, imapclient.SpecialTrash, "Trash", "Deleted Messages", "Deleted Items")
		if _, err := c.Select(ctx, folder, false); err != nil {
			return err
		}
		if err := requireMessage(ctx, c, folder, uid); err != nil {
			return err
		}
		if trash != "" && !sameMailbox(trash, folder) {
			movedTo = trash
			return c.UIDMove(ctx, []uint32{uid}, trash)
		}
		if err := c.UIDStore(ctx, []uint32{uid}, "+FLAGS.SILENT", []string{`\Deleted`}); err != nil {
			return err
		}
		return c.UIDExpunge(ctx, []uint32{uid})
	})
	return movedTo, err
}

// Flag sets (on) or clears the \Flagged flag of a message (RFC 3501
// §2.3.2: "urgent/special attention").
func (a *Agent) Flag(ctx context.Context, folder string, uid uint32, on bool) error {
	folder = folderOr(folder)
	op := "+FLAGS.SILENT"
	if !on {
		op = "-FLAGS.SILENT"
	}
	return a.session(ctx, func(c *imapclient.Client) error {
		if _, err := c.Select(ctx, folder, false); err != nil {
			return err
		}
		if err := requireMessage(ctx, c, folder, uid); err != nil {
			return err
		}
		return c.UIDStore(ctx, []uint32{uid}, op, []string{`\Flagged`})
	})
}
