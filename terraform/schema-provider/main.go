// Command terraform-provider-aws (schema only) serves the AWS provider's schema for the resource types this
// repository uses, from the extract committed beside it (aws.schema.json), and nothing else.
//
// That is all `terraform validate` and `terraform test` with mock providers ask of a provider: its schema, and
// the validation of a configuration against it. Planning, applying, reading and importing answer with an error
// that names the real provider, so nothing can mistake this for it. Provider-side validators (the real
// provider's checks of values, such as an ARN's format) do not run here; README.md beside this file says which
// tests need the real provider.
package main

import (
	_ "embed"
	"fmt"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"
)

//go:embed aws.schema.json
var extract []byte

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println("schema-only")
		return
	}
	schemas, err := parseExtract(extract)
	if err != nil {
		log.Fatalf("aws.schema.json: %v", err)
	}
	server := &schemaOnly{schemas: schemas}
	if err := tf5server.Serve("registry.terraform.io/hashicorp/aws", func() tfprotov5.ProviderServer { return server }); err != nil {
		log.Fatal(err)
	}
}
