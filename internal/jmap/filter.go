package jmap

import (
	"bytes"
	"encoding/json"
)

// filterNode is a parsed Filter argument (RFC 8620 §5.5): either an
// operator over child filters or one condition, left raw for the method
// to decode into its own condition type.
type filterNode struct {
	op       string // "AND", "OR", "NOT", or "" for a condition
	children []*filterNode
	cond     json.RawMessage
}

// Limits on a filter tree, so a request cannot make the server recurse or
// build SQL without bound.
const (
	maxFilterDepth = 16
	maxFilterNodes = 256
)

type filterOperator struct {
	Operator   string            `json:"operator"`
	Conditions []json.RawMessage `json:"conditions"`
}

// parseFilter reads a filter tree; null gives nil. Malformed filters are
// invalidArguments, too deep or too large ones unsupportedFilter.
func parseFilter(raw json.RawMessage) (*filterNode, error) {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	n := 0
	return parseFilterNode(raw, 0, &n)
}

func parseFilterNode(raw json.RawMessage, depth int, count *int) (*filterNode, error) {
	*count++
	if depth > maxFilterDepth || *count > maxFilterNodes {
		return nil, mErr(errUnsupportedFilter, "the filter is too deep or too large")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil || probe == nil {
		return nil, invalidArgs("a filter must be an object")
	}
	if _, isOp := probe["operator"]; !isOp {
		return &filterNode{cond: raw}, nil
	}
	var fo filterOperator
	if err := strictUnmarshal(raw, &fo); err != nil {
		return nil, invalidArgs("bad FilterOperator: %v", err)
	}
	switch fo.Operator {
	case "AND", "OR", "NOT":
	default:
		return nil, invalidArgs("unknown filter operator %q", fo.Operator)
	}
	if fo.Conditions == nil {
		return nil, invalidArgs("a FilterOperator needs conditions")
	}
	node := &filterNode{op: fo.Operator}
	for _, c := range fo.Conditions {
		child, err := parseFilterNode(c, depth+1, count)
		if err != nil {
			return nil, err
		}
		node.children = append(node.children, child)
	}
	return node, nil
}

// comparator is one element of a sort argument (RFC 8620 §5.5).
type comparator struct {
	Property    string  `json:"property"`
	IsAscending *bool   `json:"isAscending"`
	Collation   *string `json:"collation"`
	Keyword     *string `json:"keyword"` // RFC 8621 §4.4.2 hasKeyword sorts
}

// ascending returns the comparator's direction (default ascending).
func (c comparator) ascending() bool { return c.IsAscending == nil || *c.IsAscending }
