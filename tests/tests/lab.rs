//! End-to-end tests of the lab itself, through `tests/lab/run` as a user runs it.
//!
//! They need root (namespaces, bridges, iptables), as CI has. Each runs a shell script inside the
//! lab and checks what it printed, and that the host holds nothing of the lab afterwards.

use vswarm_lab::harness::{assert_success, bare_in_lab, repo_root, stdout};

#[test]
fn every_emulated_version_is_reported_and_exit_status_passes_through() {
    let versions = [
        "5.2.44r139111",
        "6.0.24r139119",
        "6.1.26r145957",
        "6.1.50r161033",
        "6.1.38_Ubuntur153438",
        "7.0.20r163906",
        "7.1.4r165100",
    ];
    let script = format!(
        "for v in {}; do VBOXSIM_VERSION=$v VBoxManage --version; done; exit 7",
        versions.join(" ")
    );
    let out = bare_in_lab(&script, &[]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "the command's exit status is passed through"
    );
    let printed: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(printed, versions);
}

#[test]
fn self_test_two_vms_docker_machine_style_form_a_swarm() {
    let script = repo_root().join("tests/lab/selftest.sh");
    let out = bare_in_lab(&format!("exec {}", script.display()), &[]);
    assert_success(&out);
    let text = stdout(&out);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("SELFTEST "))
        .collect();
    let has = |prefix: &str| lines.iter().any(|l| l.starts_with(prefix));
    assert!(has("SELFTEST hostonly vboxnet"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("SELFTEST hostonly") && l.contains(" Up 192.168.56.1/24")),
        "{text}"
    );
    assert!(has("SELFTEST running 2"), "{text}");
    for (node, ip_prefix) in [("lab-1", "192.168.56."), ("lab-2", "192.168.56.")] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("SELFTEST node {node} ")))
            .unwrap_or_else(|| panic!("no node line for {node}:\n{text}"));
        assert!(line.contains(&format!("hostname={node} ")), "{line}");
        assert!(line.contains(&format!("ip={ip_prefix}")), "{line}");
        assert!(line.contains("os=boot2docker"), "{line}");
        // The guest property and the address seen over SSH agree.
        let ip = line
            .split("ip=")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .unwrap_or("");
        assert!(line.contains(&format!("prop={ip} ")), "{line}");
        // boot2docker started a TLS daemon on its own on first boot (userdata disk, no profile)
        // and gave the docker user its client copy; the client waited for it on 2376.
        assert!(
            has(&format!(
                "SELFTEST boot-daemon {node} tls client=ca.pem cert.pem key.pem"
            )),
            "{text}"
        );
        assert!(has(&format!("SELFTEST tls {node} server=20.10")), "{text}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("SELFTEST tls {node} "))
                    && l.ends_with("label=provider=virtualbox")),
            "{text}"
        );
        let http = lines
            .iter()
            .find(|l| l.starts_with(&format!("SELFTEST http {node} answered=")))
            .unwrap_or_else(|| panic!("no http line for {node}:\n{text}"));
        assert!(!http.ends_with("no-answer"), "{http}");
    }
    assert!(has("SELFTEST tls-without-client-cert refused"), "{text}");
    assert!(has("SELFTEST nodes lab-1:Ready lab-2:Ready"), "{text}");
    assert!(has("SELFTEST service tasks running=2"), "{text}");
    assert!(
        has("SELFTEST overlay distinct-answers=2"),
        "cross-node overlay traffic:\n{text}"
    );
    assert!(has("SELFTEST after vms=0 links=0"), "{text}");
    assert!(has("SELFTEST done"), "{text}");
}

#[test]
fn link_bug_knob_leaves_the_seed_failure_and_ranges_are_enforced() {
    let script = r#"
        n=$(VBoxManage hostonlyif create 2>/dev/null | sed -n "s/^Interface '\(.*\)' was successfully created$/\1/p")
        VBoxManage hostonlyif ipconfig "$n" --ip 192.168.99.1 --netmask 255.255.255.0
        echo "bug rc=$? listed=$(VBoxManage list hostonlyifs | grep -c '^IPAddress:       192.168.99.1$') status=$(VBoxManage list hostonlyifs | sed -n 's/^Status: *//p') kaddr=$(ip -4 -o addr show dev "$n" | wc -l) oper=$(cat /sys/class/net/$n/operstate)"
        VBoxManage hostonlyif remove "$n" 2>/dev/null
        n=$(VBOXSIM_VERSION=7.0.20r163906 VBoxManage hostonlyif create 2>/dev/null | sed -n "s/^Interface '\(.*\)' was successfully created$/\1/p")
        VBOXSIM_VERSION=7.0.20r163906 VBoxManage hostonlyif ipconfig "$n" --ip 192.168.99.1 --netmask 255.255.255.0 2>err.txt
        echo "deny70 rc=$?"; cat err.txt; rm -f err.txt
        VBOXSIM_VERSION=7.0.20r163906 VBoxManage hostonlyif ipconfig "$n" --ip 192.168.56.1 --netmask 255.255.255.0
        echo "allow70 rc=$? kaddr=$(ip -4 -o addr show dev "$n" | awk '{print $4}')"
        conf=$(mktemp /tmp/vboxsim-networks.XXXXXX); echo '* 192.168.99.0/24 10.0.0.0/8' > "$conf"
        VBOXSIM_NETWORKS_CONF="$conf" VBOXSIM_VERSION=7.1.4r165100 VBoxManage hostonlyif ipconfig "$n" --ip 192.168.99.1 --netmask 255.255.255.0
        echo "conf rc=$?"
        VBOXSIM_NETWORKS_CONF="$conf" VBOXSIM_VERSION=7.1.4r165100 VBoxManage hostonlyif ipconfig "$n" --ip 192.168.99.1 --netmask 255.255.0.0 2>/dev/null
        echo "wider rc=$?"
        rm -f "$conf"
        VBOXSIM_VERSION=6.1.26r145957 VBoxManage hostonlyif ipconfig "$n" --ip 192.168.99.1 --netmask 255.255.255.0
        echo "old rc=$?"
    "#;
    let out = bare_in_lab(
        script,
        &[
            ("VBOXSIM_VERSION", "6.1.26r145957"),
            ("VBOXSIM_HOSTONLY_LINK_BUG", "1"),
        ],
    );
    let text = stdout(&out);
    assert!(
        text.contains("bug rc=0 listed=1 status=Down kaddr=0 oper=down"),
        "{text}"
    );
    assert!(text.contains(
        "deny70 rc=1\nVBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)\nVBoxManage: error: Context: \"EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())\" at line 252 of file VBoxManageHostonly.cpp\n"
    ), "{text}");
    // The bug knob is still set: VirtualBox records the address, the kernel link stays bare.
    assert!(text.contains("allow70 rc=0 kaddr=\n"), "{text}");
    assert!(text.contains("conf rc=0"), "{text}");
    assert!(
        text.contains("wider rc=1"),
        "a /16 is wider than the /24 rule: {text}"
    );
    assert!(
        text.contains("old rc=0"),
        "6.1.26 has no range check: {text}"
    );
}

/// Shell lines making `$W/key` and the boot2docker userdata tar `$W/ud.tar` holding its public
/// key, as docker-machine lays it out.
const USERDATA_TAR: &str = r#"
        ssh-keygen -q -t ed25519 -N '' -f "$W/key"
        mkdir -p "$W/ud/.ssh"; cp "$W/key.pub" "$W/ud/.ssh/authorized_keys"
        printf '%s' 'boot2docker, please format-me' > "$W/ud/boot2docker, please format-me"
        (cd "$W/ud" && tar -cf "$W/ud.tar" 'boot2docker, please format-me' .ssh)
"#;

#[test]
fn vms_stop_and_start_keep_their_disk_and_knobs_behave() {
    let setup = r#"
        set -u
        W=$(mktemp -d /tmp/vboxsim-test.XXXXXX)
        trap 'rm -rf "$W"' EXIT
"#;
    let script = setup.to_string()
        + USERDATA_TAR
        + r#"
        # boot2docker needs room for its 1000 MiB swap partition and a data partition.
        truncate -s 1100M "$W/ud.tar"
        VBoxManage convertfromraw "$W/ud.tar" "$W/disk.vdi" --format VDI 2>/dev/null
        VBoxManage createvm --name life --basefolder "$W" --register >/dev/null
        VBoxManage modifyvm life --nic1 nat --natpf1 "ssh,tcp,127.0.0.1,52099,,22"
        VBoxManage storagectl life --name SATA --add sata
        VBoxManage storageattach life --storagectl SATA --port 1 --device 0 --type hdd --medium "$W/disk.vdi"
        on() { ssh -q -o ConnectTimeout=5 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -i "$W/key" -p 52099 docker@127.0.0.1 "$@"; }
        up() { for _ in $(seq 1 100); do on true 2>/dev/null && return 0; sleep 0.2; done; return 1; }
        state() { VBoxManage showvminfo life --machinereadable | sed -n 's/^VMState="\(.*\)"$/\1/p'; }
        VBOXSIM_FAIL=startvm:1 VBoxManage startvm life --type headless 2>&1 | head -1
        echo "failed-start state=$(state)"
        VBoxManage startvm life --type headless
        up && echo "ssh ok"
        echo "running state=$(state) hostkey=$(on 'cat /var/lib/boot2docker/ssh/ssh_host_ed25519_key.pub' | cut -d' ' -f2 | cut -c1-12)"
        # A running VM's settings are locked, and the lock is taken before options are read.
        VBoxManage modifyvm life --cpus 0 >"$W/mod.out" 2>&1; echo "modify-running rc=$? $(head -1 "$W/mod.out")"
        on 'echo kept | sudo tee /var/lib/boot2docker/marker >/dev/null; echo kept > ~/marker; echo lost | sudo tee /etc/marker >/dev/null; sudo /usr/bin/sethostname renamed'
        VBoxManage controlvm life pause; echo "paused state=$(state)"
        VBoxManage controlvm life resume; echo "resumed state=$(state)"
        VBoxManage controlvm life acpipowerbutton
        for _ in $(seq 1 100); do [ "$(state)" = poweroff ] && break; sleep 0.1; done
        echo "acpi state=$(state) running=$(VBoxManage list runningvms | wc -l)"
        VBoxManage controlvm life poweroff; echo "poweroff-stopped rc=$?"
        # The session is still being unlocked for a moment after the power-off.
        VBoxManage startvm life --type headless 2>&1 | grep -o "is already locked by a session (or being locked or unlocked)" | sed 's/^/unlocking: /'
        sleep 3.2
        VBoxManage startvm life --type headless >/dev/null
        up && echo "ssh again"
        echo "after restart: $(on 'cat /var/lib/boot2docker/marker; cat ~/marker 2>/dev/null || echo home-reset; cat /etc/marker 2>/dev/null || echo etc-reset; hostname') hostkey=$(on 'cat /var/lib/boot2docker/ssh/ssh_host_ed25519_key.pub' | cut -d' ' -f2 | cut -c1-12)"
        grep -o 'Guest booted in [0-9]* ms' "$W/life/Logs/VBox.log" | head -1
        VBoxManage unregistervm life --delete 2>&1 | head -1
        VBoxManage controlvm life poweroff 2>/dev/null
        deleted=1
        for _ in $(seq 1 50); do
            if VBoxManage unregistervm life --delete 2>/dev/null; then deleted=0; break; fi
            sleep 0.1
        done
        echo "deleted rc=$deleted"
        echo "leftovers: $(ls "$W" | tr '\n' ' ')state=$(ls "$VBOX_USER_HOME/vboxsim-disks" 2>/dev/null | wc -l)"
        echo "log lines=$(grep -c '"argv"' "$VBOXSIM_LOG") startvm-fail=$(grep '"startvm"' "$VBOXSIM_LOG" | grep -c '"status":1')"
        rm -f "$VBOXSIM_LOG"
    "#;
    let log = format!("/tmp/vboxsim-calls.{}.jsonl", std::process::id());
    let out = bare_in_lab(
        &script,
        &[
            ("VBOXSIM_LOG", &log),
            ("VBOXSIM_VERSION", "6.1.26r145957"),
            ("VBOXSIM_UNLOCK_MS", "3000"),
        ],
    );
    let text = stdout(&out);
    eprintln!("{text}");
    assert!(text.contains("VBoxManage: error: The virtual machine 'life' has terminated unexpectedly during startup"), "{text}");
    assert!(text.contains("failed-start state=poweroff"), "{text}");
    assert!(
        text.contains(
            "Waiting for VM \"life\" to power on...\nVM \"life\" has been successfully started.\n"
        ),
        "{text}"
    );
    assert!(text.contains("ssh ok"), "{text}");
    assert!(text.contains("running state=running"), "{text}");
    assert!(
        text.contains("modify-running rc=1 VBoxManage: error: The machine 'life' is already locked for a session (or being unlocked)"),
        "{text}"
    );
    assert!(text.contains("paused state=paused"), "{text}");
    assert!(text.contains("resumed state=running"), "{text}");
    assert!(text.contains("acpi state=poweroff running=0"), "{text}");
    assert!(text.contains("poweroff-stopped rc=1"), "{text}");
    assert!(text.contains("ssh again"), "{text}");
    let keys: Vec<&str> = text
        .split("hostkey=")
        .skip(1)
        .map(|r| r.split('\n').next().unwrap_or(""))
        .collect();
    assert!(
        // /var/lib/boot2docker persists; the home is in memory (boot2docker unpacks
        // userdata.tar into it at every boot), as is /etc.
        text.contains("after restart: kept\nhome-reset\netc-reset\nrenamed hostkey="),
        "{text}"
    );
    assert_eq!(keys.len(), 2, "{text}");
    assert_eq!(keys[0], keys[1], "the SSH host key survives a restart");
    assert!(text.contains("Guest booted in "), "{text}");
    assert!(
        text.contains("VBoxManage: error: Cannot unregister the machine 'life' while it is locked"),
        "{text}"
    );
    assert!(text.contains("deleted rc=0"), "{text}");
    assert!(
        text.contains("leftovers: key key.pub mod.out ud ud.tar state=0"),
        "unregistervm --delete removes the VM folder, its disk and the disk's state: {text}"
    );
    assert!(
        text.contains("unlocking: is already locked by a session (or being locked or unlocked)"),
        "{text}"
    );
    // The injected failure and the start refused while the session unlocked.
    assert!(text.contains("startvm-fail=2"), "{text}");
}

#[test]
fn release_server_answers_like_github_and_serves_ranges() {
    let script = r#"
        api="$VBOXSIM_RELEASE_SERVER/repos/boot2docker/boot2docker/releases"
        [ "$VSWARM_B2D_RELEASES_URL" = "$api" ] && echo "url exported"
        curl -fsS "$api" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("releases", [(x["tag_name"], x["prerelease"]) for x in r])'
        curl -fsS "$api/latest" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("latest", r["tag_name"], r["assets"][0]["name"])'
        curl -fsS "$VBOXSIM_RELEASE_SERVER/boot2docker/boot2docker/releases.atom" | grep -c '<entry>' | sed 's/^/atom entries /'
        iso="$VBOXSIM_RELEASE_SERVER/boot2docker/boot2docker/releases/download/v19.03.12/boot2docker.iso"
        f=$(mktemp /tmp/vboxsim-iso.XXXXXX)
        curl -fsS -o "$f" "$iso"
        echo "volume $(dd if="$f" bs=1 skip=32808 count=32 2>/dev/null | tr -d ' ')"
        [ "$(sha256sum < "$f" | cut -d' ' -f1)" = "$(curl -fsS "$iso.sha256" | cut -d' ' -f1)" ] && echo "checksum matches"
        echo "range $(curl -sS -o /dev/null -w '%{http_code} %{size_download}' -H 'Range: bytes=100-199' "$iso")"
        rm -f "$f"
        echo "registry $(curl -fsS http://127.0.0.1:$VBOXSIM_REGISTRY_PORT/v2/_catalog)"
    "#;
    let out = bare_in_lab(script, &[]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("url exported"), "{text}");
    assert!(
        text.contains("releases [('v19.03.13-rc1', True), ('v19.03.12', False)]"),
        "{text}"
    );
    assert!(text.contains("latest v19.03.12 boot2docker.iso"), "{text}");
    assert!(text.contains("atom entries 1"), "{text}");
    assert!(text.contains("volume b2d-v19.03.12\n"), "{text}");
    assert!(text.contains("checksum matches"), "{text}");
    assert!(text.contains("range 206 100"), "{text}");
    assert!(
        text.contains(
            r#"registry {"repositories":["library/alpine","library/nginx","vboxsim/whoami"]}"#
        ),
        "{text}"
    );
}

#[test]
fn no_lease_knob_and_boot_delay() {
    let script = r#"
        W=$(mktemp -d /tmp/vboxsim-test.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        VBoxManage createvm --name nolease --basefolder "$W" --register >/dev/null
        n=$(VBoxManage hostonlyif create 2>/dev/null | sed -n "s/^Interface '\(.*\)' was successfully created$/\1/p")
        VBoxManage hostonlyif ipconfig "$n" --ip 192.168.56.1
        VBoxManage dhcpserver add --ifname "$n" --ip 192.168.56.2 --netmask 255.255.255.0 --lowerip 192.168.56.100 --upperip 192.168.56.254 --enable
        VBoxManage modifyvm nolease --nic2 hostonly --hostonlyadapter2 "$n"
        VBOXSIM_BOOT_MS=3000 VBOXSIM_NO_LEASE=1 VBoxManage startvm nolease --type headless >/dev/null
        echo "right after start: $(VBoxManage showvminfo nolease --machinereadable | grep '^VMState=') booted=$(grep -c 'Guest booted' "$W/nolease/Logs/VBox.log")"
        for _ in $(seq 1 100); do grep -q 'Guest booted' "$W/nolease/Logs/VBox.log" && break; sleep 0.1; done
        echo "after the delay: booted=$(grep -c 'Guest booted' "$W/nolease/Logs/VBox.log") ip=$(VBoxManage guestproperty get nolease /VirtualBox/GuestInfo/Net/1/V4/IP)"
        echo "log: $(grep -o 'DHCP: no lease for eth1' "$W/nolease/Logs/VBox.log")"
        VBoxManage controlvm nolease poweroff 2>/dev/null
        for _ in $(seq 1 50); do VBoxManage unregistervm nolease --delete 2>/dev/null && break; sleep 0.1; done
    "#;
    let out = bare_in_lab(script, &[]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("right after start: VMState=\"running\" booted=0"),
        "{text}"
    );
    assert!(
        text.contains("after the delay: booted=1 ip=No value set!"),
        "{text}"
    );
    assert!(text.contains("log: DHCP: no lease for eth1"), "{text}");
}

#[test]
fn a_disk_too_small_for_boot2docker_leaves_the_guest_without_its_key() {
    // VirtualBox attaches and boots a 64 MB disk; boot2docker's autoformat cannot cut its 1000 MiB
    // swap partition from it, so the userdata (the SSH key) is never unpacked and the guest runs
    // from memory, as on the real thing.
    let setup = r#"
        set -u
        W=$(mktemp -d /tmp/vboxsim-test.XXXXXX)
        trap 'VBoxManage controlvm tiny poweroff >/dev/null 2>&1; VBoxManage unregistervm tiny --delete >/dev/null 2>&1; rm -rf "$W"' EXIT
"#;
    let script = setup.to_string()
        + USERDATA_TAR
        + r#"
        truncate -s 64M "$W/ud.tar"
        VBoxManage convertfromraw "$W/ud.tar" "$W/disk.vmdk" --format VMDK 2>/dev/null
        VBoxManage createvm --name tiny --basefolder "$W" --register >/dev/null
        VBoxManage modifyvm tiny --nic1 nat --natpf1 "ssh,tcp,127.0.0.1,52098,,22"
        VBoxManage storagectl tiny --name SATA --add sata
        VBoxManage storageattach tiny --storagectl SATA --port 1 --device 0 --type hdd --medium "$W/disk.vmdk"
        VBoxManage startvm tiny --type headless >/dev/null && echo "started"
        # Until sshd answers, the NAT forward drops the connection; then the key is judged.
        for _ in $(seq 1 150); do
            r=$(ssh -o ConnectTimeout=5 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$W/key" -p 52098 docker@127.0.0.1 true 2>&1) && { echo "key accepted"; break; }
            case "$r" in *"Permission denied"*) echo "key refused by sshd"; break ;; esac
            sleep 0.2
        done
        grep -o 'autoformat: the disk holds 64 MiB[^,]*' "$W/tiny/Logs/VBox.log" | head -1
    "#;
    let out = bare_in_lab(&script, &[]);
    let text = stdout(&out);
    assert!(text.contains("started"), "{text}");
    assert!(text.contains("key refused by sshd"), "{text}");
    assert!(text.contains("autoformat: the disk holds 64 MiB"), "{text}");
}
