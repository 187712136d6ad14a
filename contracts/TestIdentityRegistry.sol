// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice Test-only ERC-8004 identity registry: the events of the v2.0.0 contracts, in their order,
/// with the least state that keeps them honest (ids from 0, owner-only changes). Not an ERC-721.
contract TestIdentityRegistry {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);
    event MetadataSet(uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue);
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);

    uint256 private lastId;
    mapping(uint256 => address) private owners;
    mapping(uint256 => string) private uris;

    modifier onlyAgentOwner(uint256 agentId) {
        require(owners[agentId] == msg.sender, "Not authorized");
        _;
    }

    function register(string calldata agentURI) external returns (uint256 agentId) {
        agentId = lastId++;
        owners[agentId] = msg.sender;
        uris[agentId] = agentURI;
        emit Transfer(address(0), msg.sender, agentId);
        emit Registered(agentId, agentURI, msg.sender);
        emit MetadataSet(agentId, "agentWallet", "agentWallet", abi.encodePacked(msg.sender));
    }

    function setAgentURI(uint256 agentId, string calldata newURI) external onlyAgentOwner(agentId) {
        uris[agentId] = newURI;
        emit URIUpdated(agentId, newURI, msg.sender);
    }

    function setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue) external onlyAgentOwner(agentId) {
        require(keccak256(bytes(metadataKey)) != keccak256("agentWallet"), "reserved key");
        emit MetadataSet(agentId, metadataKey, metadataKey, metadataValue);
    }

    function transferFrom(address from, address to, uint256 agentId) external onlyAgentOwner(agentId) {
        require(from == msg.sender && to != address(0), "bad transfer");
        emit MetadataSet(agentId, "agentWallet", "agentWallet", "");
        owners[agentId] = to;
        emit Transfer(from, to, agentId);
    }

    function ownerOf(uint256 agentId) external view returns (address) {
        require(owners[agentId] != address(0), "ERC721NonexistentToken");
        return owners[agentId];
    }

    function tokenURI(uint256 agentId) external view returns (string memory) {
        require(owners[agentId] != address(0), "ERC721NonexistentToken");
        return uris[agentId];
    }

    function isAuthorizedOrOwner(address spender, uint256 agentId) external view returns (bool) {
        require(owners[agentId] != address(0), "ERC721NonexistentToken");
        return owners[agentId] == spender;
    }
}
