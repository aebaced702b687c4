//go:build testprovider

package install

// TestBuild reports whether this is a test build: -tags testprovider links
// the scripted provider and shortens the engine's waits.
const TestBuild = true
