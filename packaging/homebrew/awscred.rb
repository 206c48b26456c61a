# Homebrew formula for awscred. The release workflow, through packaging/fill,
# replaces VERSION_PLACEHOLDER and the SHA256_* placeholders with the values of the archives
# it built, and publishes the result to the tap.
class Awscred < Formula
  desc "Short-lived AWS credentials for Claude Code on Bedrock, the AWS CLI and SDKs"
  homepage "https://github.com/awscred/awscred"
  version "VERSION_PLACEHOLDER"
  license any_of: ["MIT", "Apache-2.0"]

  on_macos do
    on_arm do
      url "https://github.com/awscred/awscred/releases/download/v#{version}/awscred-#{version}-aarch64-apple-darwin.tar.gz"
      sha256 "SHA256_AARCH64_APPLE_DARWIN"
    end
    on_intel do
      url "https://github.com/awscred/awscred/releases/download/v#{version}/awscred-#{version}-x86_64-apple-darwin.tar.gz"
      sha256 "SHA256_X86_64_APPLE_DARWIN"
    end
  end

  on_linux do
    on_arm do
      url "https://github.com/awscred/awscred/releases/download/v#{version}/awscred-#{version}-aarch64-unknown-linux-musl.tar.gz"
      sha256 "SHA256_AARCH64_UNKNOWN_LINUX_MUSL"
    end
    on_intel do
      url "https://github.com/awscred/awscred/releases/download/v#{version}/awscred-#{version}-x86_64-unknown-linux-musl.tar.gz"
      sha256 "SHA256_X86_64_UNKNOWN_LINUX_MUSL"
    end
  end

  def install
    bin.install "awscred"
    man1.install "awscred.1"
    bash_completion.install "completions/awscred.bash" => "awscred"
    zsh_completion.install "completions/_awscred"
    fish_completion.install "completions/awscred.fish"
  end

  def caveats
    <<~EOS
      Point Claude Code at awscred with:
        awscred setup claude --profile YOUR_PROFILE
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/awscred --version")
    (testpath/".aws/config").write <<~EOS
      [sso-session corp]
      sso_start_url = https://example.awsapps.com/start
      sso_region = us-east-1

      [profile brew]
      sso_session = corp
      sso_account_id = 111122223333
      sso_role_name = BedrockUser
    EOS
    ENV["AWS_CONFIG_FILE"] = testpath/".aws/config"
    ENV["AWSCRED_CACHE"] = "file"
    ENV["AWSCRED_CACHE_DIR"] = testpath/"cache"
    assert_match "not signed in", shell_output("#{bin}/awscred status --profile brew")
    assert_match "profile `nope` not found", shell_output("#{bin}/awscred export --profile nope 2>&1", 1)
  end
end
