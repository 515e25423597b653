// Quickstart: Converse and ConverseStream with the AWS SDK for Go v2, pointed
// at a local `converse serve`. Run it with
//
//	go run ./examples/quickstart [-endpoint http://127.0.0.1:8080] [-model ID]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:8080", "converse's URL")
	model := flag.String("model", "anthropic.claude-3-haiku-20240307-v1:0", "model ID")
	flag.Parse()
	ctx := context.Background()

	// The only change from code written for Amazon Bedrock: BaseEndpoint.
	client := bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(*endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	messages := []types.Message{{
		Role:    types.ConversationRoleUser,
		Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "What is the capital of Italy?"}},
	}}

	out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: model, Messages: messages})
	if err != nil {
		log.Fatal(err)
	}
	reply := out.Output.(*types.ConverseOutputMemberMessage).Value
	fmt.Println(reply.Content[0].(*types.ContentBlockMemberText).Value)
	fmt.Printf("latency %d ms, tokens in %d out %d\n", *out.Metrics.LatencyMs, *out.Usage.InputTokens, *out.Usage.OutputTokens)

	stream, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: model, Messages: messages})
	if err != nil {
		log.Fatal(err)
	}
	events := stream.GetStream()
	defer events.Close()
	for ev := range events.Events() {
		switch ev := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			if d, ok := ev.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
				fmt.Print(d.Value)
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			fmt.Println("\nstop reason:", ev.Value.StopReason)
		}
	}
	if err := events.Err(); err != nil {
		log.Fatal(err)
	}
}
