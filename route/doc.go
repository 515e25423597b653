// Package route is the model table: it maps the model ID of a request (in
// any form Bedrock accepts) to the backend that serves it and the Converse
// features the request is validated against.
//
// The table is data built once at startup by main from the configuration
// (New checks it and fails loudly); Route only looks things up. Resolution
// follows Bedrock (wire-protocol.md §5.4, §7.1):
//
//  1. an ID configured outside the catalog (a custom ID) matches exactly;
//  2. otherwise the catalog resolves base IDs, inference-profile IDs and
//     ARNs; anything it cannot resolve is a ValidationException "The provided
//     model identifier is invalid.";
//  3. a profile-only model invoked by its bare ID (or foundation-model ARN) is
//     a ValidationException "Invocation of model ID … with on-demand
//     throughput isn’t supported. …";
//  4. a catalog model with its own entry, or else the "*" entry, is served by
//     that entry's backend; with neither it is an AccessDeniedException
//     "You don't have access to the model with the specified model ID.", as
//     Bedrock answers for a model the account has no access to.
//
// This package must never import net/http, a codec or a transport: it knows
// backends only through the converse.Backend interface.
package route
