//go:build windows

package main

import (
	"errors"
	"io"
	"log"
	"os"
	"strings"

	// Named winapi: package main's tests declare a function windows.
	winapi "golang.org/x/sys/windows"
)

// The Windows release is linked as a GUI program (-H windowsgui, by fyne
// package) so that the agent the Run key starts at login opens no console
// window. Windows starts a GUI program without standard handles, even from
// cmd.exe or PowerShell, so the command-line verbs would print nothing
// there. attachParentConsole, run before main, gives them the console of
// the program that started them.

func init() { attachParentConsole(os.Args[1:]) }

// procAttachConsole is kernel32's AttachConsole, which
// golang.org/x/sys/windows does not wrap.
var procAttachConsole = winapi.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")

// attachParentProcess is ATTACH_PARENT_PROCESS, (DWORD)-1.
const attachParentProcess = ^uint32(0)

// replacedStd keeps the *os.File values attachParentConsole replaced
// reachable, so that their finalizers never close a handle number that
// has since been given to another file.
var replacedStd []*os.File

// attachParentConsole attaches this process to its parent's console and
// points each of os.Stdin, os.Stdout and os.Stderr whose standard handle
// is missing at it (CONIN$, CONOUT$), when args (the command line without
// the program) ask for a verb that prints (see wantsConsole) and standard
// output or standard error is missing. Handles that are there, redirected
// to a file or a pipe (inboxsync status > out.txt, | Out-Host) or a
// console-subsystem build's console, are left alone. Without a parent
// console (the Run key, Explorer, the agent starting a window) it does
// nothing, and it never reports anything: there is nowhere to.
func attachParentConsole(args []string) {
	if !wantsConsole(args) {
		return
	}
	std := []struct {
		id   uint32
		file **os.File
		dev  string // the console device to open in its place
		name string // the name os gives the standard file
	}{
		{winapi.STD_INPUT_HANDLE, &os.Stdin, "CONIN$", "/dev/stdin"},
		{winapi.STD_OUTPUT_HANDLE, &os.Stdout, "CONOUT$", "/dev/stdout"},
		{winapi.STD_ERROR_HANDLE, &os.Stderr, "CONOUT$", "/dev/stderr"},
	}
	var missing [3]bool
	for i, s := range std {
		missing[i] = !validStdHandle(s.id)
	}
	if !missing[1] && !missing[2] {
		return
	}
	if procAttachConsole.Find() != nil {
		return
	}
	// ERROR_ACCESS_DENIED: this process already has a console (a
	// console-subsystem build started without standard handles), which
	// serves as well. Any other failure, ERROR_INVALID_HANDLE above all,
	// means the parent has no console.
	if r, _, err := procAttachConsole.Call(uintptr(attachParentProcess)); r == 0 && !errors.Is(err, winapi.ERROR_ACCESS_DENIED) {
		return
	}
	for i, s := range std {
		if !missing[i] {
			continue
		}
		dev, err := winapi.UTF16PtrFromString(s.dev)
		if err != nil {
			continue
		}
		h, err := winapi.CreateFile(dev, winapi.GENERIC_READ|winapi.GENERIC_WRITE,
			winapi.FILE_SHARE_READ|winapi.FILE_SHARE_WRITE, nil, winapi.OPEN_EXISTING, 0, 0)
		if err != nil {
			continue
		}
		_ = winapi.SetStdHandle(s.id, h)
		old := *s.file
		replacedStd = append(replacedStd, old)
		*s.file = os.NewFile(uintptr(h), s.name)
		// The log package took os.Stderr when it was initialised; follow
		// it unless someone has pointed the log elsewhere since.
		if s.id == winapi.STD_ERROR_HANDLE && log.Writer() == io.Writer(old) {
			log.SetOutput(os.Stderr)
		}
	}
}

// validStdHandle reports whether the standard handle id (STD_*_HANDLE)
// refers to something: a file, a pipe, a console or NUL. A GUI program
// started without redirection has none (NULL).
func validStdHandle(id uint32) bool {
	h, err := winapi.GetStdHandle(id)
	if err != nil || h == 0 || h == winapi.InvalidHandle {
		return false
	}
	_, err = winapi.GetFileType(h)
	return !errors.Is(err, winapi.ERROR_INVALID_HANDLE)
}

// wantsConsole reports whether the command line args (without the program
// name), as run parses it, is one whose output is meant for the person
// who typed it: every verb, and the usage that --help or a mistake in the
// flags prints. Not the two that run for long with no console of their
// own: no verb (start Inbox Sync: the agent, which the Run key starts too)
// and ui (a window the agent opens). A process attached to a console gets
// its Ctrl-C and close events, so the agent attached to the console of the
// cmd.exe it was started from would quit at the next Ctrl-C typed there,
// or when that window closes. The agent verb, which runs the agent in the
// foreground to be stopped with Ctrl-C, does want the console.
func wantsConsole(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" { // the end of the flags: the verb, if any, follows
			return i+1 < len(args) && args[i+1] != "" && args[i+1] != "ui"
		}
		if len(a) < 2 || a[0] != '-' {
			// The verb; run takes "" as no verb.
			return a != "" && a != "ui"
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if name != "home" {
			return true // --help, or a flag run rejects with its usage
		}
		if !hasValue {
			i++ // --home DIR
			if i == len(args) {
				return true // --home without its value: usage
			}
		}
	}
	return false
}
