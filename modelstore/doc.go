// Package modelstore keeps the model files converse's local engine serves:
// it downloads GGUF files (resuming an interrupted download, verifying the
// SHA-256), and lists what is on disk.
//
// It knows files and HTTP, nothing of Converse or of the engine that reads
// the files: it must never import the module's root package, wire, codec
// or engine.
package modelstore
