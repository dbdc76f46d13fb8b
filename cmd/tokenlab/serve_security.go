package main

import (
	"os"
	"path/filepath"

	"github.com/tokenlab/tokenlab/server/httpapi"
)

// checkCredentials refuses, before anything listens, a credential too
// short to resist guessing (httpapi.CheckCredential), naming where it came
// from so that the user knows which one to replace.
func checkCredentials(f serveFlags, dir, adminToken, serviceToken, metricsToken string) error {
	adminFrom := filepath.Join(dir, AdminTokenFile)
	switch {
	case f.adminToken != "":
		adminFrom = "--admin-token"
	case os.Getenv("TOKENLAB_ADMIN_TOKEN") != "":
		adminFrom = "TOKENLAB_ADMIN_TOKEN"
	}
	serviceFrom, metricsFrom := "--service-token", "--metrics-token"
	if f.serviceToken == "" {
		serviceFrom = "TOKENLAB_SERVICE_TOKEN"
	}
	if f.metricsToken == "" {
		metricsFrom = "TOKENLAB_METRICS_TOKEN"
	}
	if f.metricsPublic && metricsToken != "" {
		return usagef("--metrics-public and %s do not mix: a public /metrics needs no credential", metricsFrom)
	}
	for _, c := range []struct{ from, tok string }{{adminFrom, adminToken}, {serviceFrom, serviceToken}, {metricsFrom, metricsToken}} {
		if c.tok == "" {
			continue
		}
		if err := httpapi.CheckCredential(c.tok); err != nil {
			return usagef("the credential of %s is %v", c.from, err)
		}
	}
	return nil
}
