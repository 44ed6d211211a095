#!/usr/bin/env python3
"""Makes an OCI image archive (skopeo `oci-archive:`) from a rootfs tarball, by hand.

    oci-archive.py ROOTFS_TAR OUT_OCI_TAR CONFIG_JSON

One layer, gzip-compressed with `gzip -n -1` (what docker-registry 2.8 and every podman read), a
config whose "config" object is CONFIG_JSON (Env, Entrypoint, Cmd, WorkingDir, User, StopSignal,
Labels ...), a manifest and an index tagged `latest`, tarred as an OCI layout. Writes OUT_OCI_TAR
atomically (OUT_OCI_TAR.partial, then rename). Shared by test/hosts/app/build-image.sh and the
test/hosts/images/build-*.sh scripts; for the same rootfs and config it writes the same digests.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: oci-archive.py ROOTFS_TAR OUT_OCI_TAR CONFIG_JSON")
    rootfs, out, image_config = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    work = tempfile.mkdtemp(prefix=".oci-", dir=os.path.dirname(os.path.abspath(out)))
    try:
        blobs = os.path.join(work, "oci/blobs/sha256")
        os.makedirs(blobs)

        def put(data):
            d = hashlib.sha256(data).hexdigest()
            with open(os.path.join(blobs, d), "wb") as f:
                f.write(data)
            return {"digest": "sha256:" + d, "size": len(data)}

        layer = os.path.join(work, "layer.tar.gz")
        with open(layer, "wb") as f:
            subprocess.run(["gzip", "-n", "-1", "-c", rootfs], stdout=f, check=True)
        diff_id = sha256_file(rootfs)
        layer_digest = sha256_file(layer)
        layer_size = os.path.getsize(layer)
        os.rename(layer, os.path.join(blobs, layer_digest))
        config = {
            "architecture": "amd64", "os": "linux",
            "config": image_config,
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
        }
        cfg = put(json.dumps(config, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cfg},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": "sha256:" + layer_digest, "size": layer_size}],
        }
        man = put(json.dumps(manifest, sort_keys=True).encode())
        index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **man,
                 "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
        with open(os.path.join(work, "oci/index.json"), "w") as f:
            f.write(json.dumps(index))
        with open(os.path.join(work, "oci/oci-layout"), "w") as f:
            f.write(json.dumps({"imageLayoutVersion": "1.0.0"}))
        subprocess.run(["tar", "-cf", out + ".partial", "-C", os.path.join(work, "oci"), "."], check=True)
        os.rename(out + ".partial", out)
        print(f"oci-archive: {out} manifest {man['digest']}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
