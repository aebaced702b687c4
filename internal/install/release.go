//go:build !testprovider

package install

// TestBuild reports whether this is a test build (-tags testprovider).
const TestBuild = false
