// Package policies ships the sample corridor policies inside the binary, so
// a node started with no configuration runs the China–Korea lane of 2020.
package policies

import _ "embed"

// ChinaKorea is policies/cn-kr.json: the China – Republic of Korea
// fast-track lane, its ten Chinese regions and Korea as one region.
//
//go:embed cn-kr.json
var ChinaKorea []byte
