// Package config reads converse's YAML configuration into plain structs and
// checks it. It decides nothing about how a model is served: main maps a
// Config onto backends and the route table.
//
// A configuration lists the models to serve:
//
//	models:
//	  anthropic.claude-3-haiku-20240307-v1:0:   # a catalog base ID; its profiles (us.…) and ARNs route here too
//	    backend: openai                         # see the backend kinds below
//	    base_url: http://127.0.0.1:11434/v1     # OpenAI-compatible base URL, including /v1
//	    model: llama3.1:8b                      # upstream model name
//	    api_key_env: OPENAI_API_KEY             # optional: the API key is read from this environment variable
//	    timeout: 60s                            # optional, a Go duration
//	  my-custom-model:                          # an ID outside the catalog: all features unless `features` narrows them
//	    backend: test
//	    features: {vision: false, guardrails: false}
//	    test:                                   # optional settings of the built-in test backend
//	      replies:
//	        - match: weather                    # substring of the last user message
//	          tool_use: {name: get_weather, input: {city: Paris}}
//	        - match: flaky
//	          text: This reply breaks after three words.
//	          fault: stream_cut                 # throttling | model_error | model_timeout | service_unavailable |
//	          cut_after: 3                      # internal | model_not_ready | stream_cut | validation
//	          chunk_delay: 50ms
//	  "*":                                      # every catalog model not listed above
//	    backend: test
//
// The backend kinds (Kinds says which settings each takes and which model
// families it serves):
//
//	test         the built-in test backend: canned replies and injected faults, every family
//	openai       an OpenAI-compatible chat server (vLLM, llama.cpp, Ollama's /v1, OpenAI), every family, Converse only
//	bedrock      Amazon Bedrock itself through the AWS SDK (region, endpoint_url, default credential chain), every family
//	anthropic    Anthropic's API, for Claude models
//	completions  an OpenAI-compatible /v1/completions server, for Llama, Mistral Instruct and Titan: converse renders the prompt
//	ollama       Ollama's /api/generate with raw prompts, for the same families
//	cohere       Cohere's Chat API, for Command R and R+
//	mistral      Mistral's API, for Mistral Large and Small
//	ai21         AI21's API, for Jamba
//
// Every kind but openai and test serves a model through its family's native
// format, the same bodies InvokeModel takes; an ID outside the catalog on
// such a backend names its family (family: meta.llama3).
//
// example.yaml in this directory is a complete, commented example (a test
// loads it). With no file at all, Default serves every catalog model with the
// test backend.
//
// Guardrails (guardrails.md) are defined under a top-level guardrails key,
// a map from guardrail identifier ([a-z0-9]+, what requests send as
// guardrailIdentifier) to a definition in the shape of Bedrock's
// CreateGuardrail body, with its field names (guard.Guardrail), plus the
// classifier that judges the model-judged policies:
//
//	guardrails:
//	  support01:
//	    name: support-guardrail
//	    blockedInputMessaging: Sorry, I can't help with that request.
//	    blockedOutputsMessaging: Sorry, I can't share that answer.
//	    wordPolicyConfig: {wordsConfig: [{text: competitorx}], managedWordListsConfig: [{type: PROFANITY}]}
//	    sensitiveInformationPolicyConfig:
//	      piiEntitiesConfig: [{type: EMAIL, action: ANONYMIZE}]
//	      regexesConfig: [{name: Ticket, pattern: 'TCK-[0-9]{6}', action: ANONYMIZE}]
//	    contentPolicyConfig:                    # content filters, denied topics and contextual
//	      filtersConfig:                        # grounding need a classifier
//	        - {type: INSULTS, inputStrength: HIGH, outputStrength: HIGH}
//	    classifier: {model: my-judge}          # a model ID this file serves
//	    versions:                              # numbered versions: complete frozen definitions
//	      "1": {name: …, blockedInputMessaging: …, blockedOutputsMessaging: …, …}
//
// The top level is the DRAFT (guardrailVersion DRAFT or empty); versions
// holds the numbered versions. Each definition is checked against
// Bedrock's limits when the file is loaded, with errors naming the field
// (guardrails["support01"].contentPolicyConfig.filtersConfig.0.type). A
// guardrail whose DRAFT or any version uses content filters, denied topics
// or contextual grounding must name a classifier model the file serves (a
// models key, or a catalog model when "*" is configured), else loading
// fails: no content is passed unchecked while the guardrail claims to check
// it. The classifier's prompt and score mapping are guard.Prompt's.
//
// Values may refer to the environment as ${VAR} or ${VAR:-default}. The
// reference is expanded inside each scalar value after the YAML is parsed,
// never in the text before it, so a value such as a secret containing ": {"
// or a newline stays one string. Mapping keys are not expanded. An unset
// variable without a default expands to "". An unquoted reference is typed
// by its expanded value (timeout: ${T:-60s}, cut_after: ${N:-3}); a quoted
// one stays a string. Inside a flow collection ({…} or […]) the braces of a
// reference must be quoted, so use block style there for non-string values.
//
// Decoding is strict: an unknown key is an error naming the key and its line,
// and Validate names the field path of every other problem
// (models["x"].base_url).
//
// The API key named by api_key_env is read when the file is loaded into
// Model.APIKey. It is a secret: Model's String method leaves it out, and it
// must never be logged.
//
// This package must never import net/http, a codec or a transport: it only
// describes what main wires together. It imports guard for the guardrail
// definition's type and limits only.
package config
