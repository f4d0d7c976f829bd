// Package admintest runs the Admin API golden file (admin/testdata/api.txt)
// against a live Admin API: the in-process one in admin's tests, the real
// binary in e2e. One file, two harnesses, so the unit tests and the
// end-to-end tests can never disagree about what the API answers.
//
// Commands:
//
//	request <METHOD> <path> [Header:value ...]
//	    "$KEY" in the path or a header is the admin key; without headers
//	    the request sends X-API-KEY: <admin key>.
//	    body: the input lines; output: the status and the JSON body,
//	    keys sorted, with times, revisions and generated ids replaced by
//	    <time>, <rev> and <id> so the file does not depend on the clock.
//	etcd-put <key>      writes the input as the raw value of <prefix><key>,
//	                    as another writer (an APISIX control plane) would
//	etcd-get <key>      prints the raw stored value (same normalisation)
//	etcd-del <key>      deletes <prefix><key>
package admintest
