#!/usr/bin/env bash
# Nightly snapshot backups, measured: a source tree on ext4 backed up to btrfs and to XFS
# (reflink=1). Night 1 copies the tree; by night 2, 1% of its files changed; night 2 is made
# with rcp --copy-dest, rcp --link-dest, rsync -a --link-dest, and a plain cp -a of
# everything. For night 2: the time, the bytes written to the backup's device (its
# /sys/block/loopN/stat, synced before and after: data and metadata), and the space it took
# (df's used blocks before and after). Root is needed (loop images under $WORK).
#
#   cargo build --release && RCP=target/release/rcp benches/snapshot.sh [small|big]
#
# small: 20,000 files of 1-16 KiB in 200 directories (200 change); big: 8 files of 64 MiB
# (1 changes, a byte in the middle). One run each (the README says how many were taken).
set -euo pipefail
RCP=$(realpath "${RCP:-target/release/rcp}")
WORK=${WORK:-/tmp/snapbench}
KIND=${1:-small}

mkdir -p "$WORK"
cd "$WORK"
mount_image() { # NAME MKFS... : a loop image mounted at $WORK/NAME
    local name=$1; shift
    if ! mountpoint -q "$name"; then
        truncate -s 6G "$name.img"
        "$@" "$name.img" >/dev/null
        mkdir -p "$name"
        mount -o loop "$name.img" "$name"
    fi
}
mount_image src mkfs.ext4 -q -F
mount_image btrfs mkfs.btrfs -q -f
mount_image xfs mkfs.xfs -q -f -m reflink=1

# The two nights' sources: night 2's is night 1's with 1% changed (times kept elsewhere).
if [ ! -d "src/$KIND.2" ]; then
    rm -rf "src/$KIND.1"
    mkdir -p "src/$KIND.1"
    if [ "$KIND" = small ]; then
        python3 - "src/$KIND.1" <<'EOF'
import os, random, sys
random.seed(1)
root = sys.argv[1]
for d in range(200):
    os.makedirs(f"{root}/d{d:03}")
    for f in range(100):
        with open(f"{root}/d{d:03}/f{f:03}", "wb") as out:
            out.write(random.randbytes(random.randint(1024, 16384)))
EOF
    else
        for i in 1 2 3 4 5 6 7 8; do head -c 64M /dev/urandom > "src/$KIND.1/big$i"; done
    fi
    cp -a "src/$KIND.1" "src/$KIND.2"
    if [ "$KIND" = small ]; then
        for d in $(seq 0 199); do echo changed >> "src/$KIND.2/d$(printf %03d "$d")/f050"; done
    else
        printf X | dd of="src/$KIND.2/big4" bs=1 seek=$((32 << 20)) conv=notrunc 2>/dev/null
    fi
fi

written() { # MOUNT: sectors written to its loop device so far, in bytes
    local dev
    dev=$(basename "$(findmnt -no SOURCE "$1")")
    echo $(( $(awk '{print $7}' "/sys/block/$dev/stat") * 512 ))
}
used() { df --output=used -B1 "$1" | tail -1; }

printf '%-6s %-18s %9s %12s %12s\n' fs tool seconds written_MiB space_MiB
for fs in btrfs xfs; do
    for tool in rcp-copy-dest rcp-link-dest rsync-link-dest cp-a; do
        rm -rf "$fs/n1" "$fs/n2"
        sync
        case $tool in
            rcp-*) "$RCP" -a "src/$KIND.1/." "$fs/n1" ;;
            rsync-*) rsync -a "src/$KIND.1/" "$fs/n1" ;;
            cp-a) cp -a "src/$KIND.1/." "$fs/n1" ;;
        esac
        case $tool in
            rcp-copy-dest) night2=("$RCP" -a --copy-dest=../n1 "src/$KIND.2/." "$fs/n2") ;;
            rcp-link-dest) night2=("$RCP" -a --link-dest=../n1 "src/$KIND.2/." "$fs/n2") ;;
            rsync-link-dest) night2=(rsync -a --link-dest=../n1 "src/$KIND.2/" "$fs/n2") ;;
            cp-a) night2=(cp -a "src/$KIND.2/." "$fs/n2") ;;
        esac
        sync
        w0=$(written "$fs") u0=$(used "$fs") t0=$(date +%s.%N)
        "${night2[@]}"
        t1=$(date +%s.%N)
        sync
        w1=$(written "$fs") u1=$(used "$fs")
        printf '%-6s %-18s %9.3f %12.1f %12.1f\n' "$fs" "$tool" "$(echo "$t1 - $t0" | bc)" \
            "$(echo "($w1 - $w0) / 1048576" | bc -l)" "$(echo "($u1 - $u0) / 1048576" | bc -l)"
    done
done
