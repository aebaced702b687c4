//go:build !windows

package autostart

import "errors"

// openRunKey returns the Windows Run key; there is none on this system.
func openRunKey() runKey { return noRunKey{} }

// noRunKey fails every call: there is no registry here.
type noRunKey struct{}

var errNoRegistry = errors.New("there is no Windows registry on this system")

// Get implements runKey.
func (noRunKey) Get(string) (string, bool, error) { return "", false, errNoRegistry }

// Put implements runKey.
func (noRunKey) Put(string, string) error { return errNoRegistry }

// Delete implements runKey.
func (noRunKey) Delete(string) error { return errNoRegistry }
