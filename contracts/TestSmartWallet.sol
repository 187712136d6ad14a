// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// A smart-contract wallet for the tests' local chain: ERC-1271 signatures are its owner's, and it
/// can move ERC-20 tokens on the owner's order. Not for any real network.
contract TestSmartWallet {
    bytes4 private constant ERC1271_MAGIC = 0x1626ba7e;
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        return ecrecover(hash, v, r, s) == owner ? ERC1271_MAGIC : bytes4(0xffffffff);
    }

    function send(address token, address to, uint256 value) external {
        require(msg.sender == owner, "owner");
        (bool ok, bytes memory answer) = token.call(abi.encodeWithSignature("transfer(address,uint256)", to, value));
        require(ok && (answer.length == 0 || abi.decode(answer, (bool))), "transfer");
    }
}
