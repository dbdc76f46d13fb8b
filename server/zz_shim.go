package server

import "encoding/json"

func PolicyFromDocument(data []byte) (Policy, error) {
	var d struct {
		OperatorName string `json:"operator_name"`
		PortalName   string `json:"portal_name"`
	}
	err := json.Unmarshal(data, &d)
	return Policy{OperatorName: d.OperatorName, PortalName: d.PortalName}, err
}
