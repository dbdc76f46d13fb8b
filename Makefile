# tokenlab — one command per job. `make help` lists them.
#
# `make run` and `make test` set themselves up on a fresh Debian machine:
# they install the Debian packages they need (with apt-get, as root or via
# sudo) and the Go modules, then do their job.

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
export GOTOOLCHAIN ?= local
export CGO_ENABLED ?= 1
# The usb build tag compiles the gousb reader (cgo + libusb-1.0).
TAGS        ?= usb
BIN         := bin/tokenlab
# postgresql: the tests of server/pgstore and serve --db start throwaway clusters of it.
DEB_PACKAGES := oathtool pskctool libusb-1.0-0-dev pkg-config gcc chromium freeradius-utils freeradius libpam-oath libpam-google-authenticator postgresql
FUZZTIME    ?= 20s
BENCHTIME   ?= 1s

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# apt_install installs those of the Debian packages $(1) that are missing:
# as root, or through sudo when it needs no password; otherwise it says what
# to install.
define apt_install
@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
  else echo "make $@: missing Debian packages:$$missing — install them with: sudo apt-get install$$missing" >&2; exit 1; fi; \
  echo "make $@: installing$$missing"; \
  $$sudo apt-get update -qq; \
  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
fi
endef

.PHONY: setup
setup: ## install the Debian packages and Go modules the build needs
	$(call apt_install,$(DEB_PACKAGES))
	@$(GO) mod download

.PHONY: build
build: setup ## build bin/tokenlab with USB support
	$(GO) build -tags '$(TAGS)' -o $(BIN) ./cmd/tokenlab

DEMO_DIR    := .tokenlab-demo
DEMO_ADDR   ?= 127.0.0.1:8080

.PHONY: run
run: build ## the main job: a demo verification server with a virtual fleet, and a walkthrough
	@rm -rf $(DEMO_DIR) # a fresh demo each time, so the printed walkthrough holds
	TOKENLAB_HOME=$$PWD/$(DEMO_DIR) ./$(BIN) serve --demo --virtual-clock --addr $(DEMO_ADDR) --data $(DEMO_DIR)/server

.PHONY: tour
tour: build ## a two-minute tour of virtual tokens alone, no server
	./$(BIN) demo --store $(DEMO_DIR)/tour/tokens.json

.PHONY: test
test: setup lint ## everything: vet, lint, unit and CLI tests, scenario suites, the no-USB build
	$(GO) test -tags '$(TAGS)' -race -count=1 ./...
	@# The build without cgo must still work and say what it lacks.
	CGO_ENABLED=0 $(GO) build -o bin/tokenlab-nousb ./cmd/tokenlab
	./bin/tokenlab-nousb version | grep 'without USB support' >/dev/null
	./bin/tokenlab-nousb device list 2>&1 | grep 'built without USB support' >/dev/null
	! ./bin/tokenlab-nousb device read --usb 1050 --count 1 2>/tmp/tokenlab-nousb.err
	grep -q 'built without USB support' /tmp/tokenlab-nousb.err

# The USB guest: QEMU (TCG: no KVM needed), a kernel package extracted
# (never installed) and busybox, cached here between runs.
USB_DEB_PACKAGES := qemu-system-x86 busybox-static cpio
USB_GUEST_DIR    ?= .cache/usb-guest

.PHONY: test-usb
test-usb: build ## real keys without real keys: a QEMU guest reads an emulated USB keyboard and USB serial adapter through libusb and ftdi_sio, then activates and logs in on a host server
	$(call apt_install,$(USB_DEB_PACKAGES))
	scripts/usb-guest/build.sh $(BIN) $(USB_GUEST_DIR)
	TOKENLAB_USB_GUEST=$(abspath $(USB_GUEST_DIR)) $(GO) test -tags '$(TAGS)' -count=1 -v -run '^TestUSBGuest$$' ./cmd/tokenlab

.PHONY: scenarios
scenarios: setup ## the scenario suites, in parallel with the pinned ginkgo CLI: TARGET=URL for a server, LABELS=expr, JUNIT=file
	TOKENLAB_TARGET='$(TARGET)' $(GO) tool ginkgo -r -p --tags '$(TAGS)' $(if $(LABELS),--label-filter '$(LABELS)') $(if $(JUNIT),--junit-report '$(abspath $(JUNIT))') ./scenarios

.PHONY: conformance
conformance: setup ## probe FreeRADIUS + pam_oath, FreeRADIUS + google-authenticator and tokenlab serve --radius, and rewrite docs/conformance.md (as root)
	$(GO) test ./scenarios/conformance -run '^TestConformance$$' -count=1 -v -args -write $(abspath docs/conformance.md)

.PHONY: lint
lint: setup ## gofmt, go vet (both builds) and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out" >&2; exit 1; fi
	$(GO) vet -tags '$(TAGS)' ./...
	CGO_ENABLED=0 $(GO) vet ./...
	$(GO) tool staticcheck -tags '$(TAGS)' ./...

.PHONY: bench
bench: setup ## benchmarks, with speed-ups over pquerna/otp as x-faster
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

LOAD_ADDR        ?= 127.0.0.1:18090
LOAD_CONCURRENCY ?= 32
LOAD_DURATION    ?= 10s
LOAD_TOKENS      ?= 400
LOAD_LOGIN_FLOOD ?= 0

DB       ?= sqlite
REPLICAS ?= 1

.PHONY: load
load: build ## durable load test: a fresh server (virtual clock, temporary data) and bench --server at it; LOAD_CONCURRENCY=N, LOAD_DURATION=D, LOAD_TOKENS=N, LOAD_LOGIN_FLOOD=N (a second phase beside N wrong-password login workers); DB=postgres REPLICAS=N: N replicas on a throwaway PostgreSQL
ifeq ($(DB),postgres)
	$(GO) run ./server/perf/dbload -bin $(BIN) -configs pg$(REPLICAS) -duration $(LOAD_DURATION) -concurrency $(LOAD_CONCURRENCY) -tokens $(LOAD_TOKENS)
else
	@dir=$$(mktemp -d); \
	export TOKENLAB_ADMIN_TOKEN=$$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n'); \
	./$(BIN) serve --virtual-clock --addr $(LOAD_ADDR) --data $$dir/server --store $$dir/tokens.json 2>$$dir/serve.log & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf $$dir' EXIT; \
	for i in $$(seq 100); do ./$(BIN) clock --server http://$(LOAD_ADDR) >/dev/null 2>&1 && break; sleep 0.1; done; \
	./$(BIN) bench --server http://$(LOAD_ADDR) --concurrency $(LOAD_CONCURRENCY) --duration $(LOAD_DURATION) --tokens $(LOAD_TOKENS) --login-flood $(LOAD_LOGIN_FLOOD)
endif

LOAD_ROUNDS ?= 3

.PHONY: load-compare
load-compare: build ## the durable load side by side: SQLite, one and two PostgreSQL replicas, taking turns LOAD_ROUNDS times; a table for docs/performance.md
	$(GO) run ./server/perf/dbload -bin $(BIN) -configs sqlite,pg1,pg2 -rounds $(LOAD_ROUNDS) -duration $(LOAD_DURATION) -concurrency $(LOAD_CONCURRENCY) -tokens $(LOAD_TOKENS)

FLEET       ?= 3000
CONCURRENCY ?= 16
DURATION    ?= 20s
ROUNDS      ?= 3
SWEEP       ?=

.PHONY: load-peers
load-peers: build ## tokenlab's RADIUS front beside FreeRADIUS + pam_oath, the same fleet load in turns, one run (root): FLEET=N, CONCURRENCY=N, DURATION=D, ROUNDS=N, SWEEP=8,32,64 (tokenlab alone at those concurrencies after)
	$(GO) run ./scenarios/fleetload/loadpeers --tokenlab ./$(BIN) --fleet $(FLEET) --concurrency $(CONCURRENCY) --duration $(DURATION) --rounds $(ROUNDS) $(if $(SWEEP),--sweep $(SWEEP))

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$f ($$pkg)"; \
	    $(GO) test -tags '$(TAGS)' -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

.PHONY: clean
clean: ## remove build output and the demo store
	rm -rf bin .tokenlab-demo
