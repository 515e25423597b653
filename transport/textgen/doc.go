// Package textgen holds the native InvokeModel bodies of the families whose
// prompt converse renders itself (Llama, Mistral Instruct, Titan): it reads
// a native body into neutral generation parameters and writes a finished
// generation, or a stream chunk of one, back in the family's native shape.
// The destinations that generate from a rendered prompt share it: the
// text-completion servers (transport/completions) and the embedded engine.
//
// Like every transport package it must never import the module's root
// package or codec.
package textgen
