// Command etcd is etcd's own server, built from its module so the real
// control plane does not depend on a distribution package (Debian's 3.4 lacks
// RequestWatchProgress, which kube-apiserver 1.34 relies on).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
