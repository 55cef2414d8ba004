package main

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

const providerAddress = "registry.terraform.io/hashicorp/aws"

// The shapes of `terraform providers schema -json`, which is what the extract is (filtered to the types used).
type extractFile struct {
	FormatVersion   string                    `json:"format_version"`
	ProviderSchemas map[string]providerSchema `json:"provider_schemas"`
}

type providerSchema struct {
	Provider          jsonSchema            `json:"provider"`
	ResourceSchemas   map[string]jsonSchema `json:"resource_schemas"`
	DataSourceSchemas map[string]jsonSchema `json:"data_source_schemas"`
	EphemeralSchemas  map[string]jsonSchema `json:"ephemeral_resource_schemas"`
}

type jsonSchema struct {
	Version int64     `json:"version"`
	Block   jsonBlock `json:"block"`
}

type jsonBlock struct {
	Attributes map[string]jsonAttribute `json:"attributes"`
	BlockTypes map[string]jsonBlockType `json:"block_types"`
	Deprecated bool                     `json:"deprecated"`
}

type jsonAttribute struct {
	Type       json.RawMessage `json:"type"`
	NestedType json.RawMessage `json:"nested_type"`
	Required   bool            `json:"required"`
	Optional   bool            `json:"optional"`
	Computed   bool            `json:"computed"`
	Sensitive  bool            `json:"sensitive"`
	Deprecated bool            `json:"deprecated"`
	WriteOnly  bool            `json:"write_only"`
}

type jsonBlockType struct {
	NestingMode string    `json:"nesting_mode"`
	Block       jsonBlock `json:"block"`
	MinItems    int64     `json:"min_items"`
	MaxItems    int64     `json:"max_items"`
}

type providerSchemas struct {
	provider    *tfprotov5.Schema
	resources   map[string]*tfprotov5.Schema
	dataSources map[string]*tfprotov5.Schema
	ephemeral   map[string]*tfprotov5.Schema
}

var nestingModes = map[string]tfprotov5.SchemaNestedBlockNestingMode{
	"single": tfprotov5.SchemaNestedBlockNestingModeSingle,
	"group":  tfprotov5.SchemaNestedBlockNestingModeGroup,
	"list":   tfprotov5.SchemaNestedBlockNestingModeList,
	"set":    tfprotov5.SchemaNestedBlockNestingModeSet,
	"map":    tfprotov5.SchemaNestedBlockNestingModeMap,
}

func parseExtract(data []byte) (*providerSchemas, error) {
	var file extractFile
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, err
	}
	aws, found := file.ProviderSchemas[providerAddress]
	if !found {
		return nil, fmt.Errorf("no schema for %s", providerAddress)
	}
	result := &providerSchemas{}
	var err error
	if result.provider, err = convertSchema("provider", aws.Provider); err != nil {
		return nil, err
	}
	if result.resources, err = convertAll("resource", aws.ResourceSchemas); err != nil {
		return nil, err
	}
	if result.dataSources, err = convertAll("data source", aws.DataSourceSchemas); err != nil {
		return nil, err
	}
	if result.ephemeral, err = convertAll("ephemeral resource", aws.EphemeralSchemas); err != nil {
		return nil, err
	}
	return result, nil
}

func convertAll(kind string, schemas map[string]jsonSchema) (map[string]*tfprotov5.Schema, error) {
	converted := make(map[string]*tfprotov5.Schema, len(schemas))
	for name, schema := range schemas {
		one, err := convertSchema(kind+" "+name, schema)
		if err != nil {
			return nil, err
		}
		converted[name] = one
	}
	return converted, nil
}

func convertSchema(where string, schema jsonSchema) (*tfprotov5.Schema, error) {
	block, err := convertBlock(where, schema.Block)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.Schema{Version: schema.Version, Block: block}, nil
}

func convertBlock(where string, block jsonBlock) (*tfprotov5.SchemaBlock, error) {
	converted := &tfprotov5.SchemaBlock{Deprecated: block.Deprecated}
	for name, attribute := range block.Attributes {
		if len(attribute.NestedType) > 0 {
			return nil, fmt.Errorf("%s.%s: nested attribute types need protocol 6", where, name)
		}
		attributeType, err := tftypes.ParseJSONType(attribute.Type) //nolint:staticcheck // the extract is Terraform's own type JSON
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", where, name, err)
		}
		converted.Attributes = append(converted.Attributes, &tfprotov5.SchemaAttribute{
			Name:       name,
			Type:       attributeType,
			Required:   attribute.Required,
			Optional:   attribute.Optional,
			Computed:   attribute.Computed,
			Sensitive:  attribute.Sensitive,
			Deprecated: attribute.Deprecated,
			WriteOnly:  attribute.WriteOnly,
		})
	}
	for name, nested := range block.BlockTypes {
		mode, known := nestingModes[nested.NestingMode]
		if !known {
			return nil, fmt.Errorf("%s.%s: unknown nesting mode %q", where, name, nested.NestingMode)
		}
		inner, err := convertBlock(where+"."+name, nested.Block)
		if err != nil {
			return nil, err
		}
		converted.BlockTypes = append(converted.BlockTypes, &tfprotov5.SchemaNestedBlock{
			TypeName: name,
			Block:    inner,
			Nesting:  mode,
			MinItems: nested.MinItems,
			MaxItems: nested.MaxItems,
		})
	}
	return converted, nil
}
