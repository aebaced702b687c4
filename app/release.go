//go:build !testprovider

package app

// TestBuild reports whether this is a test build (-tags testprovider).
const TestBuild = false
