package guard

import (
	"context"
	"fmt"
	"math"
)

// Classifier judges the policies that need a model: content filters, denied
// topics and contextual grounding (§4.1, §4.2, §4.5). Apply calls it at most
// once per evaluation, with everything it needs to score. An error fails the
// evaluation: content is never passed as if it had been checked.
type Classifier interface {
	Classify(ctx context.Context, req ClassifyRequest) (Scores, error)
}

// ClassifierFunc adapts a function to Classifier.
type ClassifierFunc func(ctx context.Context, req ClassifyRequest) (Scores, error)

// Classify calls f.
func (f ClassifierFunc) Classify(ctx context.Context, req ClassifyRequest) (Scores, error) {
	return f(ctx, req)
}

// ClassifyRequest is what one evaluation asks the classifier. Only the
// members with something to score are set.
type ClassifyRequest struct {
	// Source is INPUT (user content) or OUTPUT (model output).
	Source Source
	// Text is the content to judge for categories and topics: the guarded
	// text blocks joined by blank lines.
	Text string
	// Images are the guarded images, when a content filter covers IMAGE.
	Images []Image
	// Categories are the content-filter types to score (HATE, INSULTS,
	// SEXUAL, VIOLENCE, MISCONDUCT, PROMPT_ATTACK).
	Categories []string
	// Topics are the denied topics to score.
	Topics []Topic
	// GroundingSource and Query are the reference text and the user's
	// question (the grounding_source and query blocks, concatenated);
	// Response is the answer they judge (the blocks marked guard_content or
	// unqualified).
	GroundingSource, Query, Response string
	// Grounding and Relevance ask for those two scores of Response.
	Grounding, Relevance bool
}

// Image is one image to judge.
type Image struct {
	Format string // png or jpeg
	Bytes  []byte
}

// Topic is one denied topic as the classifier sees it.
type Topic struct {
	Name       string
	Definition string
	Examples   []string
}

// Scores are the classifier's answer; every score is between 0 and 1.
// Categories and Topics must hold a score for every category and topic
// asked; Grounding and Relevance are read only when asked.
type Scores struct {
	// Categories maps a content-filter type to the probability that the
	// content belongs to it.
	Categories map[string]float64
	// Topics maps a topic name to the probability that the content is
	// about that topic.
	Topics map[string]float64
	// Grounding is how far Response is supported by the source; new
	// information lowers it. Relevance is how far it answers the query.
	Grounding, Relevance float64
}

// Confidence returns the confidence bucket of a category probability p
// (§4.1). The cut-offs are fixed and even, so a strength maps to a
// probability threshold: HIGH strength blocks from p ≥ 0.25 (LOW
// confidence), MEDIUM from p ≥ 0.5, LOW only from p ≥ 0.75.
//
//	p < 0.25          NONE
//	0.25 ≤ p < 0.5    LOW
//	0.5  ≤ p < 0.75   MEDIUM
//	0.75 ≤ p          HIGH
func Confidence(p float64) string {
	switch {
	case p >= 0.75:
		return "HIGH"
	case p >= 0.5:
		return "MEDIUM"
	case p >= 0.25:
		return "LOW"
	}
	return "NONE"
}

// TopicThreshold is the topic probability from which a denied topic counts
// as detected.
const TopicThreshold = 0.5

// bucketRank orders confidences and strengths alike.
func bucketRank(s string) int {
	switch s {
	case "LOW":
		return 1
	case "MEDIUM":
		return 2
	case "HIGH":
		return 3
	}
	return 0
}

// filterDetects applies §4.1's table: a strength blocks every confidence at
// or above its mirror image (HIGH strength → LOW and up, LOW strength → HIGH
// only); NONE never detects.
func filterDetects(strength, confidence string) bool {
	s := bucketRank(strength)
	return s > 0 && bucketRank(confidence) >= 4-s
}

// checkScores makes sure the classifier answered everything it was asked,
// with probabilities, so a partial answer never passes content unchecked.
func checkScores(req ClassifyRequest, sc Scores) error {
	valid := func(p float64) bool { return !math.IsNaN(p) && p >= 0 && p <= 1 }
	for _, c := range req.Categories {
		if p, ok := sc.Categories[c]; !ok || !valid(p) {
			return fmt.Errorf("guard: classifier gave no valid score for category %s", c)
		}
	}
	for _, t := range req.Topics {
		if p, ok := sc.Topics[t.Name]; !ok || !valid(p) {
			return fmt.Errorf("guard: classifier gave no valid score for topic %q", t.Name)
		}
	}
	if req.Grounding && !valid(sc.Grounding) {
		return fmt.Errorf("guard: classifier gave an invalid grounding score %g", sc.Grounding)
	}
	if req.Relevance && !valid(sc.Relevance) {
		return fmt.Errorf("guard: classifier gave an invalid relevance score %g", sc.Relevance)
	}
	return nil
}
